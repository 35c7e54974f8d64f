using System.Text.RegularExpressions;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Relative object names shared by every store kind, so one folder or one bucket is the whole cache:
/// <c>[ns/&lt;team&gt;/]blobs/sha256/&lt;hex&gt;</c>, <c>records/…</c>, <c>used/…</c>, <c>index/…</c>.</summary>
public static partial class StoreLayout
{
    public const string Blobs = "blobs/";
    public const string Ingest = "ingest/";
    public const string Records = "records/";
    public const string Used = "used/";
    public const string ByParent = "index/parent/";
    public const string ByStep = "index/step/";

    /// <summary>The prefix of a namespace ("" for the shared default).</summary>
    public static string Prefix(string? ns)
    {
        if (string.IsNullOrEmpty(ns)) return "";
        if (!NamespacePattern().IsMatch(ns))
            throw new ArgumentException($"invalid cache namespace '{ns}': use 1-63 of a-z, 0-9, '-', '_', '.', starting with a letter or digit");
        return $"ns/{ns}/";
    }

    public static string BlobName(Digest digest)
    {
        if (digest.IsEmpty) throw new ArgumentException("empty digest");
        return $"{Blobs}{digest.Algorithm}/{digest.Hex}";
    }

    /// <summary>Parses a blob name relative to the namespace prefix back into a digest.</summary>
    public static bool TryParseBlobName(string name, out Digest digest)
    {
        digest = default;
        if (!name.StartsWith(Blobs, StringComparison.Ordinal)) return false;
        var rest = name[Blobs.Length..];
        var slash = rest.IndexOf('/');
        return slash > 0 && Digest.TryParse($"{rest[..slash]}:{rest[(slash + 1)..]}", out digest);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NamespacePattern();
}
