using System.Security.Cryptography;

namespace BuildFarm.Coordinator.Api;

/// <summary>Proof that a client holds a blob's bytes, not only its digest: HMAC-SHA256 keyed by a per-build nonce.</summary>
public static class PossessionProof
{
    public const int NonceSize = 32;

    public static async Task<byte[]> ComputeAsync(Stream content, byte[] nonce, CancellationToken cancellationToken)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, nonce);
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            hmac.AppendData(buffer, 0, read);
        return hmac.GetHashAndReset();
    }

    public static bool Matches(byte[] expected, ReadOnlySpan<byte> claimed) =>
        CryptographicOperations.FixedTimeEquals(expected, claimed);
}
