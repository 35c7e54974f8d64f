namespace BuildFarm.Coordinator.Builds;

/// <summary>What a <c>--build-context NAME=VALUE</c> names.</summary>
public enum NamedContextKind
{
    Folder,
    OciLayout,
    Image,
    Stage,
}
