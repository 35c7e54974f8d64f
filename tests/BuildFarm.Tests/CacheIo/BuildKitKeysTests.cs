using System.Text;
using BuildFarm.Coordinator.CacheIo.BuildKitKeys;

namespace BuildFarm.Tests.CacheIo;

public sealed class BuildKitKeysTests
{
    [Fact]
    public void Go_json_escapes_html_characters_and_controls_as_encoding_json_does()
    {
        var text = new StringBuilder();
        GoJson.Quote(text, "a<b>&c\u2028\"\\\n\t\u0001é😀");
        Assert.Equal("\"a\\u003cb\\u003e\\u0026c\\u2028\\\"\\\\\\n\\t\\u0001é😀\"", text.ToString());
    }

    [Fact]
    public void Go_json_writes_fields_in_order_without_spaces()
    {
        var json = new GoJson().BeginObject().Name("a").Strings(["x", "y"]).Name("b").BeginObject().Name("c").Bool(true).EndObject()
            .Name("d").Number(-1).EndObject();
        Assert.Equal("{\"a\":[\"x\",\"y\"],\"b\":{\"c\":true},\"d\":-1}", json.ToString());
    }

    [Fact]
    public void Chain_id_of_one_layer_is_its_diff_id_and_of_more_hashes_parent_and_diff_id()
    {
        const string a = "sha256:aaaa", b = "sha256:bbbb";
        Assert.Equal(a, BuildKitDigest.ChainId([a]));
        Assert.Equal(BuildKitDigest.Of("sha256:aaaa sha256:bbbb"), BuildKitDigest.ChainId([a, b]));
    }

    [Fact]
    public void Record_id_is_the_digest_of_cache_map_digest_at_output()
    {
        Assert.Equal(BuildKitDigest.Of("sha256:1234@0"), BuildKitDigest.RootKey("sha256:1234"));
    }

    [Fact]
    public void Exec_key_changes_with_each_modelled_field()
    {
        var platform = new BuildKitPlatform("linux", "amd64", "");
        var exec = new BuildKitExec(["/bin/sh", "-c", "true"], ["PATH=/bin"], "", "", BuildKitOpKeys.NetModeNone, 0);
        var keys = new[]
        {
            exec, exec with { Args = ["/bin/sh", "-c", "false"] }, exec with { Env = ["PATH=/usr/bin"] }, exec with { Cwd = "/srv" },
            exec with { User = "1000" }, exec with { Network = BuildKitOpKeys.NetModeHost }, exec with { Security = BuildKitOpKeys.SecurityInsecure },
        }.Select(e => BuildKitOpKeys.Exec(e, platform)).Append(BuildKitOpKeys.Exec(exec, platform with { Architecture = "arm64" }));
        Assert.Equal(8, keys.Distinct().Count());
    }
}
