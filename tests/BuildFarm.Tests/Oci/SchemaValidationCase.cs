namespace BuildFarm.Tests.Oci;

/// <summary>One document of validation-cases.json with the verdict upstream expects.</summary>
public sealed record SchemaValidationCase(string Name, string MediaType, string Document, bool Fail, string? Sha256 = null)
{
    public override string ToString() => Name;
}
