using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace BuildFarm.Coordinator.Planning;

/// <summary>The checksum of a COPY/ADD source selection: sha256 over the canonical JSON of its entries sorted by path.</summary>
public static class ContentChecksum
{
    public static string Compute(IEnumerable<ContentChecksumEntry> entries)
    {
        var array = new JsonArray();
        foreach (var e in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            var obj = new JsonObject { ["path"] = e.Path, ["mode"] = e.Mode };
            if (e.Sha256 is not null)
                obj["sha256"] = e.Sha256;
            if (e.LinkTarget is not null)
                obj["linkTarget"] = e.LinkTarget;
            if (e.Uid is not null)
                obj["uid"] = e.Uid.Value;
            if (e.Gid is not null)
                obj["gid"] = e.Gid.Value;
            array.Add(obj);
        }
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson.SerializeToUtf8(array)));
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
