namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>One declared instruction flag and the value it ends up with.</summary>
public sealed class BuilderFlag
{
    internal BuilderFlag(string name, BuilderFlagType type)
    {
        Name = name;
        Type = type;
    }

    public string Name { get; }

    public BuilderFlagType Type { get; }

    /// <summary>The value of a string flag, or "true"/"false" for a bool flag.</summary>
    public string Value { get; internal set; } = "";

    /// <summary>Every value of a repeatable flag, in order.</summary>
    public List<string> StringValues { get; } = [];

    public bool IsTrue => Value == "true";
}
