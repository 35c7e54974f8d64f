namespace BuildFarm.Oci.Registry;

/// <summary>A user name and password (or an identity token) for one registry.</summary>
public sealed record RegistryCredential(string Username, string Password)
{
    /// <summary>An OAuth refresh token from <c>docker login</c> against a token server, used instead of the password.</summary>
    public string? IdentityToken { get; init; }

    public override string ToString() => $"{Username}:***"; // never print the secret
}
