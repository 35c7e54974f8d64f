using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Tests.Builds;

/// <summary>A named folder context's own .dockerignore applied to the folder's entries (the embedded build's layer).</summary>
public sealed class NamedContextIgnoreTests
{
    private static readonly LayerEntry[] Tree =
    [
        LayerEntry.File(".dockerignore", []), LayerEntry.File("keep.txt", []), LayerEntry.File("secret.txt", []),
        LayerEntry.Directory("logs"), LayerEntry.File("logs/a.log", []), LayerEntry.File("logs/keep.log", []),
        LayerEntry.Directory("sub"), LayerEntry.File("sub/x.tmp", []), LayerEntry.File("sub/y.txt", []),
        LayerEntry.Directory("gone"), LayerEntry.Directory("gone/deeper"), LayerEntry.File("gone/deeper/z", []),
    ];

    [Fact]
    public void Filter_drops_excluded_entries_and_keeps_a_re_included_file_with_its_excluded_parent()
    {
        var matcher = PatternMatcher.Create(["secret.txt", "logs", "!logs/keep.log", "**/*.tmp", "gone"]);

        var kept = NamedContextIgnore.Filter(Tree, matcher).Select(e => e.Path);

        Assert.Equal([".dockerignore", "keep.txt", "logs", "logs/keep.log", "sub", "sub/y.txt"], kept);
    }

    [Fact]
    public void Filter_without_exclusions_skips_a_whole_excluded_directory()
    {
        var kept = NamedContextIgnore.Filter(Tree, PatternMatcher.Create(["gone", "logs"])).Select(e => e.Path);

        Assert.DoesNotContain(kept, p => p.StartsWith("gone", StringComparison.Ordinal) || p.StartsWith("logs", StringComparison.Ordinal));
        Assert.Contains("sub/x.tmp", kept);
    }

    [Fact]
    public async Task A_bad_pattern_names_the_context_and_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("bf-nc-ignore-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, ".dockerignore"), "ok\n[z-a\n");

            var e = await Assert.ThrowsAsync<NamedContextException>(() => NamedContextIgnore.LoadAsync("lib", dir, CancellationToken.None));

            Assert.Contains("build context lib: ", e.Message);
            Assert.Contains(".dockerignore:2:1: invalid pattern", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
