using System.Security.Cryptography;
using System.Text;

namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>The digest arithmetic of BuildKit's solver (go-digest's FromBytes, solver.rootKey, identity.ChainID).</summary>
public static class BuildKitDigest
{
    public static string Of(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static string Of(string text) => Of(Encoding.UTF8.GetBytes(text));

    /// <summary>The id of a cache record: solver.rootKey, sha256 of "&lt;cache map digest&gt;@&lt;output index&gt;" — what a record's
    /// <c>digest</c> holds in an exported cache config.</summary>
    public static string RootKey(string cacheMapDigest, int output = 0) => Of($"{cacheMapDigest}@{output}");

    /// <summary>The chain id of a layer stack (the image spec's ChainID: each step hashes "&lt;parent chain id&gt; &lt;diff id&gt;").</summary>
    public static string ChainId(IReadOnlyList<string> diffIds)
    {
        if (diffIds.Count == 0) throw new ArgumentException("a chain id needs at least one diff id", nameof(diffIds));
        var chain = diffIds[0];
        for (var i = 1; i < diffIds.Count; i++) chain = Of(chain + " " + diffIds[i]);
        return chain;
    }

    /// <summary>The selector digest of an op input (the paths it reads, joined by NUL): an exec's root mount reads "/".</summary>
    public static string Selector(params string[] paths) => Of(string.Join('\0', paths));
}
