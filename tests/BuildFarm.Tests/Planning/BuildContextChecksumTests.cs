using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

/// <summary>The context checksum a COPY/ADD key holds (<see cref="Coordinator.Api.BuildContext.Checksum"/>, the one
/// production uses): exactly the selected files count, by path, content, mode and link target.</summary>
public sealed class BuildContextChecksumTests : IDisposable
{
    private readonly ContextFolder _context = new(
        ("README.md", "readme"), ("src/a.go", "a"), ("src/a_test.go", "test"), ("src/lib/b.go", "b"));

    public void Dispose() => _context.Dispose();

    private Task<string> Sum(params string[] sources) => _context.ChecksumAsync(new ContextSelection(sources, []));

    [Fact]
    public async Task A_directory_source_counts_every_file_beneath_it_and_nothing_else()
    {
        var before = await Sum("src");
        Assert.NotEqual(before, await _context.Write("src/lib/b.go", "b2").ChecksumAsync(new(["src"], [])));
        var after = await Sum("src");
        Assert.Equal(after, await _context.Write("README.md", "changed").ChecksumAsync(new(["src"], [])));
    }

    [Fact]
    public async Task Wildcards_stay_within_one_directory_level()
    {
        var before = await Sum("src/*.go");
        _context.Write("src/lib/b.go", "b2");
        Assert.Equal(before, await Sum("src/*.go"));
        _context.Write("src/a.go", "a2");
        Assert.NotEqual(before, await Sum("src/*.go"));
    }

    [Fact]
    public async Task Exclude_patterns_drop_files_from_the_selection()
    {
        var selection = new ContextSelection(["src"], ["*_test.go"]);
        var before = await _context.ChecksumAsync(selection);
        Assert.Equal(before, await _context.Write("src/a_test.go", "changed").ChecksumAsync(selection));
        Assert.NotEqual(before, await _context.Write("src/a.go", "changed").ChecksumAsync(selection));
    }

    [Fact]
    public async Task Dot_selects_the_whole_context()
    {
        var before = await Sum(".");
        Assert.Equal(before, await Sum("./"));
        Assert.NotEqual(before, await _context.Write("README.md", "changed").ChecksumAsync(new(["."], [])));
    }

    [Fact]
    public async Task Sources_cannot_climb_out_of_the_context()
    {
        // The worker resolves "../../src" beneath the context root; the key must count the same files.
        Assert.Equal(await Sum("src"), await Sum("../../src"));
        Assert.Equal(await Sum("src/lib"), await Sum("src/../src//lib/"));
    }

    [Fact]
    public async Task A_symlink_counts_with_its_target()
    {
        File.CreateSymbolicLink(Path.Combine(_context.Root, "src", "link"), "a.go");
        var before = await Sum("src");
        File.Delete(Path.Combine(_context.Root, "src", "link"));
        File.CreateSymbolicLink(Path.Combine(_context.Root, "src", "link"), "lib/b.go");
        Assert.NotEqual(before, await Sum("src"));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_file_mode_counts()
    {
        var before = await Sum("src/a.go");
        File.SetUnixFileMode(Path.Combine(_context.Root, "src", "a.go"), (UnixFileMode)0x1ED); // 0755
        Assert.NotEqual(before, await Sum("src/a.go"));
    }
}
