using System.Security.Cryptography;
using System.Text;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class CacheKeyInputsTests
{
    private static CacheKeyInputs Sample() => new()
    {
        Platform = "linux/amd64",
        Parent = CacheKeyParent.Step("sha256:1111111111111111111111111111111111111111111111111111111111111111"),
        Instruction = "RUN make build",
        Flags = new Dictionary<string, string> { ["network"] = "none" },
        BuildArgs = new Dictionary<string, string> { ["VERSION"] = "1.2", ["MODE"] = "release" },
        Env = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["LANG"] = "C.UTF-8" },
        SourceStages = new Dictionary<string, string> { ["builder"] = "sha256:2222222222222222222222222222222222222222222222222222222222222222" },
        Mounts = [new Dictionary<string, string> { ["type"] = "cache", ["target"] = "/root/.cache" }],
    };

    private const string SampleJson =
        "{\"buildArgs\":{\"MODE\":\"release\",\"VERSION\":\"1.2\"},\"contentChecksum\":null," +
        "\"env\":{\"LANG\":\"C.UTF-8\",\"PATH\":\"/usr/bin:/bin\"},\"flags\":{\"network\":\"none\"}," +
        "\"instruction\":\"RUN make build\",\"mounts\":[{\"target\":\"/root/.cache\",\"type\":\"cache\"}]," +
        "\"parent\":{\"kind\":\"step\",\"value\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"}," +
        "\"platform\":\"linux/amd64\"," +
        "\"sourceStages\":{\"builder\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\"},\"v\":1}";

    [Fact]
    public void The_encoding_is_canonical_json_with_sorted_keys_and_no_whitespace()
    {
        Assert.Equal(SampleJson, Sample().ToCanonicalJson());
    }

    [Fact]
    public void The_key_is_the_sha256_of_the_canonical_encoding_and_stays_stable()
    {
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SampleJson)));
        Assert.Equal(expected, Sample().ComputeKey());
        // Golden value: if this changes, every cache record in every cluster stops matching (bump SchemaVersion on purpose).
        Assert.Equal("sha256:90078a75072523805c999394c383cd41363ebffbdbc7d879fa6797c0508228d2", Sample().ComputeKey());
    }

    [Fact]
    public void Map_insertion_order_does_not_change_the_key()
    {
        var reordered = Sample() with
        {
            BuildArgs = new Dictionary<string, string> { ["MODE"] = "release", ["VERSION"] = "1.2" },
            Env = new Dictionary<string, string> { ["LANG"] = "C.UTF-8", ["PATH"] = "/usr/bin:/bin" },
        };
        Assert.Equal(Sample().ComputeKey(), reordered.ComputeKey());
        Assert.Empty(Sample().Differences(reordered));
    }

    public static TheoryData<string, string> Changes => new()
    {
        { "platform", "platform" },
        { "parent", "parent.value" },
        { "parent kind", "parent.kind" },
        { "instruction", "instruction" },
        { "flag", "flags.network" },
        { "build arg", "buildArgs.VERSION" },
        { "env", "env.PATH" },
        { "content checksum", "contentChecksum" },
        { "source stage", "sourceStages.builder" },
        { "mount", "mounts[0].target" },
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Changing_any_input_changes_the_key_and_is_named(string change, string expectedInput)
    {
        var before = Sample();
        var after = change switch
        {
            "platform" => before with { Platform = "linux/arm64" },
            "parent" => before with { Parent = CacheKeyParent.Step("sha256:3333333333333333333333333333333333333333333333333333333333333333") },
            "parent kind" => before with { Parent = CacheKeyParent.BaseImage(before.Parent.Value) },
            "instruction" => before with { Instruction = "RUN make test" },
            "flag" => before with { Flags = new Dictionary<string, string> { ["network"] = "host" } },
            "build arg" => before with { BuildArgs = new Dictionary<string, string> { ["VERSION"] = "1.3", ["MODE"] = "release" } },
            "env" => before with { Env = new Dictionary<string, string> { ["PATH"] = "/bin", ["LANG"] = "C.UTF-8" } },
            "content checksum" => before with { ContentChecksum = "sha256:4444444444444444444444444444444444444444444444444444444444444444" },
            "source stage" => before with { SourceStages = new Dictionary<string, string> { ["builder"] = "sha256:5555555555555555555555555555555555555555555555555555555555555555" } },
            "mount" => before with { Mounts = [new Dictionary<string, string> { ["type"] = "cache", ["target"] = "/tmp/cache" }] },
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };

        Assert.NotEqual(before.ComputeKey(), after.ComputeKey());
        var difference = Assert.Single(before.Differences(after));
        Assert.Equal(expectedInput, difference.Input);
    }

    [Fact]
    public void An_added_build_arg_is_named_as_absent_before()
    {
        var after = Sample() with { BuildArgs = new Dictionary<string, string> { ["VERSION"] = "1.2", ["MODE"] = "release", ["EXTRA"] = "x" } };
        var difference = Assert.Single(Sample().Differences(after));
        Assert.Equal(new CacheKeyDifference("buildArgs.EXTRA", null, "x"), difference);
    }

    [Fact]
    public void Content_checksum_depends_on_path_content_and_mode_but_not_on_order()
    {
        ContentChecksumEntry a = new("a.txt", 0x81A4, "sha256:aa");
        ContentChecksumEntry b = new("src/b.go", 0x81ED, "sha256:bb");
        var baseline = ContentChecksum.Compute([a, b]);

        Assert.Equal(baseline, ContentChecksum.Compute([b, a]));
        Assert.NotEqual(baseline, ContentChecksum.Compute([a with { Path = "c.txt" }, b]));
        Assert.NotEqual(baseline, ContentChecksum.Compute([a with { Sha256 = "sha256:cc" }, b]));
        Assert.NotEqual(baseline, ContentChecksum.Compute([a with { Mode = 0x81ED }, b]));
        Assert.NotEqual(baseline, ContentChecksum.Compute([a with { Uid = 1000 }, b]));
    }

    [Fact]
    public void Strings_are_escaped_minimally_and_non_ascii_is_written_as_utf8()
    {
        var inputs = Sample() with { Instruction = "RUN echo \"héllo\"\t\\ \u0001" };
        Assert.Contains("\"instruction\":\"RUN echo \\\"héllo\\\"\\t\\\\ \\u0001\"", inputs.ToCanonicalJson());
    }
}
