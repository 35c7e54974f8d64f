using System.Security.Cryptography;
using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public sealed class ContentChecksumTests
{
    /// <summary>The checksum as it was computed before it was written directly: canonical JSON of a JSON tree. Cache keys
    /// of existing stores depend on these bytes.</summary>
    private static string ThroughJsonTree(IEnumerable<ContentChecksumEntry> entries)
    {
        var array = new JsonArray();
        foreach (var e in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            var obj = new JsonObject { ["path"] = e.Path, ["mode"] = e.Mode };
            if (e.Sha256 is not null) obj["sha256"] = e.Sha256;
            if (e.LinkTarget is not null) obj["linkTarget"] = e.LinkTarget;
            if (e.Uid is not null) obj["uid"] = e.Uid.Value;
            if (e.Gid is not null) obj["gid"] = e.Gid.Value;
            array.Add(obj);
        }
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson.SerializeToUtf8(array)));
    }

    [Fact]
    public void The_checksum_is_the_same_as_through_a_canonical_json_tree()
    {
        ContentChecksumEntry[] entries =
        [
            new("b/file \"quoted\"\\n\t.txt", 0x81A4, "sha256:" + new string('a', 64)),
            new("a", 0x41ED),
            new("link", 0xA1FF, LinkTarget: "../tärget\u0001"),
            new("owned", 0x8180, "sha256:" + new string('b', 64), Uid: 1000, Gid: 0),
            new("gid-only", 0x8000, Gid: 7),
            new("uid-only", 0x8000, Uid: -1),
        ];

        Assert.Equal(ThroughJsonTree(entries), ContentChecksum.Compute(entries));
        Assert.Equal(ThroughJsonTree([]), ContentChecksum.Compute([]));
    }
}
