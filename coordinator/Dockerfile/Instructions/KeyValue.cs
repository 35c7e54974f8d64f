namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>An ENV/LABEL pair; <see cref="NoDelim"/> marks the legacy <c>KEY value</c> form.</summary>
public sealed record KeyValue(string Key, string Value, bool NoDelim)
{
    public override string ToString() => Key + "=" + Value;
}
