namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>One ARG name with its optional default and the doc comment written for it.</summary>
public sealed record ArgDefinition(string Key, string? Value, string DocComment = "")
{
    public string ValueOrEmpty => Value ?? "";

    public override string ToString() => Key + "=" + ValueOrEmpty;
}
