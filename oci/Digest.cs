using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace BuildFarm.Oci;

/// <summary>A content digest in the OCI form <c>algorithm:encoded</c>; only sha256 is produced.</summary>
public readonly partial record struct Digest
{
    public const string Sha256Algorithm = "sha256";

    public string Algorithm { get; }
    public string Hex { get; }

    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    public static Digest Parse(string value)
    {
        if (!TryParse(value, out var digest))
            throw new FormatException($"invalid digest '{value}': expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>");
        return digest;
    }

    public static bool TryParse(string? value, out Digest digest)
    {
        digest = default;
        if (value is null) return false;
        var m = DigestPattern().Match(value);
        if (!m.Success) return false;
        var algorithm = m.Groups[1].Value;
        var hex = m.Groups[2].Value;
        var expectedLength = algorithm switch { "sha256" => 64, "sha512" => 128, _ => -1 };
        if (expectedLength > 0 && hex.Length != expectedLength) return false;
        if (expectedLength > 0 && !LowerHex().IsMatch(hex)) return false;
        digest = new Digest(algorithm, hex);
        return true;
    }

    public static Digest FromSha256Bytes(ReadOnlySpan<byte> hash) =>
        new(Sha256Algorithm, Convert.ToHexStringLower(hash));

    public static Digest Compute(ReadOnlySpan<byte> content) => FromSha256Bytes(SHA256.HashData(content));

    public static async Task<Digest> ComputeAsync(Stream content, CancellationToken cancellationToken = default) =>
        FromSha256Bytes(await SHA256.HashDataAsync(content, cancellationToken));

    public bool IsEmpty => Algorithm is null;

    public override string ToString() => IsEmpty ? "" : $"{Algorithm}:{Hex}";

    [GeneratedRegex(@"^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")]
    private static partial Regex DigestPattern();

    [GeneratedRegex("^[a-f0-9]+$")]
    private static partial Regex LowerHex();
}
