using System.Text;
using BuildFarm.Cache.Context;
using BuildFarm.Oci;

namespace BuildFarm.Tests.Context;

public sealed class ContextManifestTests
{
    private static readonly string Content = Digest.Compute("A"u8).ToString();
    private static readonly ContextManifestEntry Root = new(".", 0x41ED, 0, null, null, 0, 0, 1700000000, 0);

    private static ContextManifestEntry Dir(string path) => new(path, 0x41ED, 0, null, null, 0, 0, 1700000000, 5);
    private static ContextManifestEntry File(string path) => new(path, 0x81A4, 1, Content, null, 1000, 1000, 1700000001, 0);
    private static ContextManifestEntry Link(string path, string target) => new(path, 0xA1FF, target.Length, null, target, 0, 0, 1700000002, 0);

    [Fact]
    public void Manifest_is_canonical_whatever_the_order_it_was_given_in()
    {
        ContextManifestEntry[] entries = [Dir("a"), File("a/x"), File("a-b"), Link("l", "a/x")];

        var forward = new ContextManifest(Root, entries);
        var backward = new ContextManifest(Root, entries.Reverse());

        Assert.Equal(forward.ToBytes().ToArray(), backward.ToBytes().ToArray());
        Assert.Equal(["a", "a-b", "a/x", "l"], forward.Entries.Select(e => e.Path));
    }

    [Fact]
    public void Manifest_round_trips_through_its_bytes()
    {
        var manifest = new ContextManifest(Root, [Dir("a"), File("a/x"), Link("l", "a/x")]);

        var parsed = ContextManifest.Parse(manifest.ToBytes().ToArray());

        Assert.Equal(manifest.Digest, parsed.Digest);
        Assert.Equal(manifest.Entries, parsed.Entries);
        Assert.Equal(manifest.Root, parsed.Root);
    }

    [Theory]
    [InlineData("../escape", "'..' component")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("a//b", "empty path component")]
    [InlineData("a/./b", "'.' component")]
    [InlineData("a/", "empty path component")]
    public void Manifest_with_an_unclean_path_is_refused_naming_it(string path, string why)
    {
        var error = Assert.Throws<InvalidContextManifestException>(() => new ContextManifest(Root, [Dir("a"), File(path)]));

        Assert.Contains($"'{path}'", error.Message);
        Assert.Contains(why, error.Message);
    }

    [Fact]
    public void Manifest_with_an_entry_beneath_a_symlink_is_refused()
    {
        var error = Assert.Throws<InvalidContextManifestException>(() => new ContextManifest(Root, [Link("l", "/etc"), File("l/passwd")]));

        Assert.Contains("'l/passwd' is beneath the symlink 'l'", error.Message);
    }

    [Fact]
    public void Manifest_with_a_duplicate_entry_is_refused()
    {
        var json = Encoding.UTF8.GetString(new ContextManifest(Root, [File("x")]).ToBytes().Span);
        var twice = json.Replace("\"entries\":[{", "\"entries\":[{\"path\":\"x\",\"mode\":16877,\"size\":0,\"uid\":0,\"gid\":0,\"mtime\":0},{");

        var error = Assert.Throws<InvalidContextManifestException>(() => ContextManifest.Parse(Encoding.UTF8.GetBytes(twice), "m"));

        Assert.Contains("'x' is listed twice", error.Message);
    }

    [Fact]
    public void Manifest_with_an_entry_whose_parent_is_missing_is_refused()
    {
        var error = Assert.Throws<InvalidContextManifestException>(() => new ContextManifest(Root, [File("a/x")]));

        Assert.Contains("'a/x': its parent 'a' is not listed", error.Message);
    }

    [Fact]
    public void Manifest_with_a_device_entry_is_refused()
    {
        var error = Assert.Throws<InvalidContextManifestException>(() => new ContextManifest(Root, [new("dev", 0x2180, 0, null, null, 0, 0, 0, 0)]));

        Assert.Contains("'dev': type 0x2000", error.Message);
    }

    [Fact]
    public void Manifest_that_is_not_json_is_refused_naming_the_manifest()
    {
        var error = Assert.Throws<InvalidContextManifestException>(() => ContextManifest.Parse("not json"u8.ToArray(), "context manifest sha256:abc"));

        Assert.Contains("context manifest sha256:abc: not valid JSON", error.Message);
    }
}
