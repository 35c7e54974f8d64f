
namespace BuildFarm.Coordinator.Context;

public enum ContextEntryKind
{
    File,
    Directory,
    Symlink,
}
