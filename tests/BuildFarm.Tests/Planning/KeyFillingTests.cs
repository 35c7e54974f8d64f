using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class KeyFillingTests
{
    private const string Dockerfile = "FROM alpine:3.20 AS build\nWORKDIR /src\nCOPY main.c .\nRUN cc -o app main.c\nFROM scratch\nCOPY --from=build /src/app /app\nCMD [\"/app\"]\n";

    private static readonly string BaseDigest = "sha256:" + new string('1', 64);

    private static async Task<PlanKeys> Keys(string mainC, string digest, string dockerfile = Dockerfile)
    {
        var plan = DockerfilePlanner.Plan(dockerfile, new PlanOptions());
        using var context = new ContextFolder(("main.c", mainC), ("README.md", "docs"));
        return await context.KeysAsync(plan, Images(digest));
    }

    private static Dictionary<string, string> Images(string digest) => new() { ["alpine:3.20"] = digest, ["alpine:latest"] = digest };

    [Fact]
    public async Task Every_step_gets_a_sha256_key()
    {
        var keys = await Keys("int main(){}", BaseDigest);
        Assert.Equal(["s0.0", "s0.1", "s0.2", "s0.3", "s1.0", "s1.1", "s1.2"], keys.Keys.Keys.Order());
        Assert.All(keys.Keys.Values, k => Assert.Matches("^sha256:[0-9a-f]{64}$", k));
        Assert.Equal(keys.Keys.Count, keys.Keys.Values.Distinct().Count());
    }

    [Fact]
    public async Task Keys_are_the_same_on_every_run()
    {
        var a = await Keys("int main(){}", BaseDigest);
        var b = await Keys("int main(){}", BaseDigest);
        Assert.Equal(a.Keys.OrderBy(p => p.Key), b.Keys.OrderBy(p => p.Key));
    }

    [Fact]
    public async Task Changing_a_copied_file_changes_that_step_and_everything_after_it_only()
    {
        var a = await Keys("int main(){}", BaseDigest);
        var b = await Keys("int main(){return 1;}", BaseDigest);

        Assert.Equal(a.KeyOf("s0.0"), b.KeyOf("s0.0"));
        Assert.Equal(a.KeyOf("s0.1"), b.KeyOf("s0.1"));
        Assert.NotEqual(a.KeyOf("s0.2"), b.KeyOf("s0.2"));
        Assert.NotEqual(a.KeyOf("s0.3"), b.KeyOf("s0.3"));
        Assert.Equal(a.KeyOf("s1.0"), b.KeyOf("s1.0")); // FROM scratch does not depend on the build stage
        Assert.NotEqual(a.KeyOf("s1.1"), b.KeyOf("s1.1")); // but COPY --from=build does

        var why = a.Inputs["s0.2"].Differences(b.Inputs["s0.2"]);
        Assert.Equal("contentChecksum", Assert.Single(why).Input);
        Assert.Equal("parent.value", Assert.Single(a.Inputs["s0.3"].Differences(b.Inputs["s0.3"])).Input);
        Assert.Equal("sourceStages.build", Assert.Single(a.Inputs["s1.1"].Differences(b.Inputs["s1.1"])).Input);
    }

    [Fact]
    public async Task A_cache_mount_seeded_from_a_stage_has_that_stage_in_its_key()
    {
        // The seed is the stage's files (BuildKit: id + the from= ref), so a changed stage is a changed RUN, named as such.
        const string seeded = "FROM alpine:3.20 AS seed\nCOPY main.c /seed/\nFROM alpine:3.20\n" +
                              "RUN --mount=type=cache,id=c,from=seed,source=/seed,target=/c cat /c/main.c\n";
        var a = await Keys("int main(){}", BaseDigest, seeded);
        var b = await Keys("int main(){return 1;}", BaseDigest, seeded);
        Assert.Equal(a.KeyOf("s1.0"), b.KeyOf("s1.0"));
        Assert.NotEqual(a.KeyOf("s1.1"), b.KeyOf("s1.1"));
        Assert.Equal("sourceStages.seed", Assert.Single(a.Inputs["s1.1"].Differences(b.Inputs["s1.1"])).Input);
    }

    [Fact]
    public async Task A_file_the_step_does_not_select_does_not_change_its_key()
    {
        var plan = DockerfilePlanner.Plan(Dockerfile, new PlanOptions());
        using var context = new ContextFolder(("main.c", "x"), ("README.md", "one"));
        var a = await context.KeysAsync(plan, Images(BaseDigest));
        var b = await context.Write("README.md", "two").KeysAsync(plan, Images(BaseDigest));
        Assert.Equal(a.Keys.OrderBy(p => p.Key), b.Keys.OrderBy(p => p.Key));
    }

    [Fact]
    public async Task The_base_image_digest_not_its_tag_decides_the_from_key()
    {
        var a = await Keys("x", BaseDigest);
        var b = await Keys("x", "sha256:" + new string('2', 64));
        Assert.NotEqual(a.KeyOf("s0.0"), b.KeyOf("s0.0"));
        Assert.Equal(CacheKeyParentKind.BaseImage, a.Inputs["s0.0"].Parent.Kind);
        Assert.Equal(BaseDigest, a.Inputs["s0.0"].Parent.Value);

        // Another tag that resolves to the same digest gives the same key.
        var retagged = await Keys("x", BaseDigest, Dockerfile.Replace("alpine:3.20", "alpine:latest", StringComparison.Ordinal));
        Assert.Equal(a.KeyOf("s0.0"), retagged.KeyOf("s0.0"));
    }

    [Fact]
    public async Task Scratch_is_a_constant_parent()
    {
        var keys = await Keys("x", BaseDigest);
        Assert.Equal(CacheKeyParent.Scratch, keys.Inputs["s1.0"].Parent);
    }

    [Fact]
    public async Task Each_distinct_image_is_resolved_once()
    {
        var plan = DockerfilePlanner.Plan("FROM alpine:3 AS a\nRUN a\nFROM alpine:3\nCOPY --from=alpine:3 /etc/os-release /\n", new PlanOptions());
        var resolver = new FakeResolver();
        await plan.ComputeKeysAsync(resolver);
        Assert.Equal(["alpine:3"], resolver.ResolvedImages);
    }

    [Fact]
    public async Task Cancellation_stops_key_filling()
    {
        var plan = DockerfilePlanner.Plan(Dockerfile, new PlanOptions());
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => plan.ComputeKeysAsync(new FakeResolver(), cts.Token));
    }
}
