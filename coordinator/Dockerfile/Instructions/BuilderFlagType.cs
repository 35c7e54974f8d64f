namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Kinds of instruction flags.</summary>
public enum BuilderFlagType
{
    Bool,
    String,
    /// <summary>Repeatable string flag (e.g. <c>--mount</c>, <c>--exclude</c>).</summary>
    Strings,
}
