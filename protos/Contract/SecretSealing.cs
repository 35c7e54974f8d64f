using System.Security.Cryptography;
using System.Text;
using BuildFarm.Protos.Cluster;
using Google.Protobuf;

namespace BuildFarm.Protos;

/// <summary>
/// Secret values cross nodes only sealed to the asking worker: the worker sends an ephemeral ECDH P-256 public key,
/// the provider answers with its own ephemeral key and each value AES-256-GCM sealed under the shared key. The build
/// id and the secret id are the associated data, so a sealed value cannot be replayed under another name.
/// </summary>
public static class SecretSealing
{
    private static readonly byte[] KeyLabel = "buildfarm secrets v1"u8.ToArray();

    public static ECDiffieHellman NewKey() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public static ByteString PublicKeyOf(ECDiffieHellman key) => ByteString.CopyFrom(key.PublicKey.ExportSubjectPublicKeyInfo());

    /// <summary>Seals <paramref name="values"/> for the holder of <paramref name="peerPublicKey"/>.</summary>
    public static SecretsReply Seal(string buildId, ByteString peerPublicKey, IEnumerable<KeyValuePair<string, byte[]>> values)
    {
        using var mine = NewKey();
        var key = SharedKey(mine, peerPublicKey);
        try
        {
            var reply = new SecretsReply { BuildId = buildId, PublicKey = PublicKeyOf(mine) };
            using var aes = new AesGcm(key, AesGcm.TagByteSizes.MaxSize);
            foreach (var (id, value) in values)
            {
                var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
                var ciphertext = new byte[value.Length];
                var tag = new byte[AesGcm.TagByteSizes.MaxSize];
                aes.Encrypt(nonce, value, ciphertext, tag, AssociatedData(buildId, id));
                reply.Secrets.Add(new SealedSecret
                {
                    Id = id, Nonce = ByteString.CopyFrom(nonce), Ciphertext = ByteString.CopyFrom(ciphertext), Tag = ByteString.CopyFrom(tag),
                });
            }
            return reply;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Opens a reply sealed to <paramref name="mine"/>; throws <see cref="CryptographicException"/> on tampering.</summary>
    public static Dictionary<string, byte[]> Open(ECDiffieHellman mine, SecretsReply reply)
    {
        var key = SharedKey(mine, reply.PublicKey);
        try
        {
            using var aes = new AesGcm(key, AesGcm.TagByteSizes.MaxSize);
            var values = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var sealedSecret in reply.Secrets)
            {
                var plain = new byte[sealedSecret.Ciphertext.Length];
                aes.Decrypt(sealedSecret.Nonce.Span, sealedSecret.Ciphertext.Span, sealedSecret.Tag.Span, plain,
                    AssociatedData(reply.BuildId, sealedSecret.Id));
                values[sealedSecret.Id] = plain;
            }
            return values;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[] SharedKey(ECDiffieHellman mine, ByteString peerPublicKey)
    {
        using var peer = ECDiffieHellman.Create();
        peer.ImportSubjectPublicKeyInfo(peerPublicKey.Span, out _);
        return mine.DeriveKeyFromHash(peer.PublicKey, HashAlgorithmName.SHA256, KeyLabel, null);
    }

    private static byte[] AssociatedData(string buildId, string secretId) => Encoding.UTF8.GetBytes(buildId + "\n" + secretId);
}
