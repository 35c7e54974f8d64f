using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public class ContextSelectorTests
{
    private static readonly IReadOnlyList<ContextEntry> Manifest =
    [
        new("README.md", ContextEntryKind.File, 0x81A4, 1, "sha256:r", null),
        new("src", ContextEntryKind.Directory, 0x41ED, 0, null, null),
        new("src/a.go", ContextEntryKind.File, 0x81A4, 1, "sha256:a", null),
        new("src/a_test.go", ContextEntryKind.File, 0x81A4, 1, "sha256:t", null),
        new("src/lib", ContextEntryKind.Directory, 0x41ED, 0, null, null),
        new("src/lib/b.go", ContextEntryKind.File, 0x81A4, 1, "sha256:b", null),
        new("src/link", ContextEntryKind.Symlink, 0xA1FF, 4, null, "a.go"),
    ];

    private static IEnumerable<string> Paths(ContextSelection selection) =>
        ContextSelector.Select(Manifest, selection).Select(e => e.Path);

    [Fact]
    public void A_directory_source_selects_its_contents_relative_to_itself()
    {
        Assert.Equal(["a.go", "a_test.go", "lib", "lib/b.go", "link"], Paths(new(["src"], [])));
    }

    [Fact]
    public void A_file_source_lands_under_its_base_name_or_its_full_path_with_parents()
    {
        Assert.Equal(["b.go"], Paths(new(["src/lib/b.go"], [])));
        Assert.Equal(["src/lib/b.go"], Paths(new(["src/lib/b.go"], [], KeepParents: true)));
    }

    [Fact]
    public void Wildcards_stay_within_one_directory_level()
    {
        Assert.Equal(["a.go", "a_test.go"], Paths(new(["src/*.go"], [])));
        Assert.Empty(ContextSelector.Select(Manifest, new(["*.md"], ["README.md"])));
    }

    [Fact]
    public void Exclude_patterns_drop_files_from_the_selection()
    {
        Assert.Equal(["a.go", "lib", "lib/b.go", "link"], Paths(new(["src"], ["*_test.go"])));
    }

    [Fact]
    public void Dot_selects_the_whole_context_and_sources_cannot_climb_out()
    {
        Assert.Equal(Manifest.Count, Paths(new(["."], [])).Count());
        Assert.Equal(Paths(new(["src"], [])), Paths(new(["../../src"], [])));
    }

    [Fact]
    public void A_missing_source_is_an_error_that_names_it()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ContextSelector.Select(Manifest, new(["nope.txt"], [])));
        Assert.Contains("nope.txt", e.Message);
    }

    [Fact]
    public void A_symlink_counts_with_its_target()
    {
        var before = ContextSelector.Checksum(Manifest, new(["src"], []));
        var retargeted = Manifest.Select(e => e.Path == "src/link" ? e with { LinkTarget = "lib/b.go" } : e).ToList();
        Assert.NotEqual(before, ContextSelector.Checksum(retargeted, new(["src"], [])));
    }
}
