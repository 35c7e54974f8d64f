namespace BuildFarm.Coordinator.Dockerfile.Ignore;

public enum ContextEntryKind
{
    File,
    Directory,
    Symlink,
}
