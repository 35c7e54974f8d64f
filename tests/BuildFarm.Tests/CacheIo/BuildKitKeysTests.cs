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

    // Record digests copied from a cache real BuildKit wrote (Debian 13's dockerd 26.1.5, BuildKit v0.13, buildx 0.13.1,
    // `--network none --cache-to type=local,mode=max`): an exec's and a file op's cache map do not depend on the base
    // image, so these stay true for any base whose config has PATH as its only env and WorkingDir "/".
    [Fact]
    public void Run_key_equals_the_record_BuildKit_wrote_for_RUN_echo_tool()
    {
        var exec = new BuildKitExec(["/bin/sh", "-c", "echo tool > /tool"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "/", "",
            BuildKitOpKeys.NetModeNone, 0);
        Assert.Equal("sha256:33c1599dfdaed597f27a8aff2b723f743be5b96518c6376aeb4c3f7b30113468",
            BuildKitDigest.RootKey(BuildKitOpKeys.Exec(exec, new BuildKitPlatform("linux", "amd64", ""))));
    }

    [Fact]
    public void Workdir_key_equals_the_record_BuildKit_wrote_for_WORKDIR_srv()
    {
        Assert.Equal("sha256:4a631d44bee2dabd62334c1e79fdafa822ae73f1b4fd4c5b832a51b84fd1c509",
            BuildKitDigest.RootKey(BuildKitOpKeys.Mkdir("/srv", 0b111_101_101, makeParents: true)));
    }

    [Fact]
    public void Copy_from_stage_key_and_selector_equal_the_record_BuildKit_wrote_for_COPY_from_tools()
    {
        var (digest, selector) = BuildKitOpKeys.CopyFromStage("/tool", "/srv/tool");
        Assert.Equal("sha256:a0b33133cea162c0432e2eae9d912144e226dad3c105b8fb9a9d9941c0267396", BuildKitDigest.RootKey(digest));
        Assert.Equal("sha256:d3be381b3bcb529a89a2fa11890358fbc1454de304e00a37694c2f65963fe28f", selector);
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
