using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace BuildFarm.Coordinator.Planning;

/// <summary>The checksum of a COPY/ADD source selection: sha256 over the canonical JSON of its entries sorted by path.</summary>
public static class ContentChecksum
{
    public static string Compute(IEnumerable<ContentChecksumEntry> entries)
    {
        // The canonical JSON of [{gid?, linkTarget?, mode, path, sha256?, uid?}, ...] (keys in ordinal order), written
        // directly: a COPY of 20,000 files would otherwise build and sort a JSON tree of 20,000 objects per key.
        var sb = new StringBuilder();
        sb.Append('[');
        var first = true;
        foreach (var e in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append('{');
            if (e.Gid is { } gid) sb.Append("\"gid\":").Append(gid.ToString(CultureInfo.InvariantCulture)).Append(',');
            if (e.LinkTarget is { } target)
            {
                sb.Append("\"linkTarget\":");
                CanonicalJson.WriteString(sb, target);
                sb.Append(',');
            }
            sb.Append("\"mode\":").Append(e.Mode.ToString(CultureInfo.InvariantCulture)).Append(",\"path\":");
            CanonicalJson.WriteString(sb, e.Path);
            if (e.Sha256 is { } sha)
            {
                sb.Append(",\"sha256\":");
                CanonicalJson.WriteString(sb, sha);
            }
            if (e.Uid is { } uid) sb.Append(",\"uid\":").Append(uid.ToString(CultureInfo.InvariantCulture));
            sb.Append('}');
        }
        sb.Append(']');
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>One checksum for several selections of the same step (order kept: it is the instruction's order).</summary>
    public static string Combine(IReadOnlyList<string> checksums)
    {
        var array = new JsonArray();
        foreach (var c in checksums)
            array.Add(c);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson.SerializeToUtf8(array)));
    }
}
