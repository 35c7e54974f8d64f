using BuildFarm.Worker.FileOps;

namespace BuildFarm.Tests.Worker;

public sealed class RootedPathTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-rooted").FullName;

    public RootedPathTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "real/dir"));
        File.CreateSymbolicLink(Path.Combine(_root, "abs"), "/real");
        File.CreateSymbolicLink(Path.Combine(_root, "rel"), "real/dir");
        File.CreateSymbolicLink(Path.Combine(_root, "up"), "../../../etc");
        File.CreateSymbolicLink(Path.Combine(_root, "real/back"), "../real/dir");
    }

    [Fact]
    public void Scoped_resolution_reads_absolute_links_inside_the_root() =>
        Assert.Equal(Path.Combine(_root, "real/dir"), RootedPath.ResolveScoped(_root, "/abs/dir"));

    [Fact]
    public void Scoped_resolution_clamps_dot_dot_at_the_root() =>
        Assert.Equal(Path.Combine(_root, "etc"), RootedPath.ResolveScoped(_root, "up"));

    [Fact]
    public void Scoped_resolution_can_leave_the_final_link_alone() =>
        Assert.Equal(Path.Combine(_root, "rel"), RootedPath.ResolveScoped(_root, "rel", followFinal: false));

    [Fact]
    public void Strict_resolution_follows_links_that_stay_inside() =>
        Assert.Equal(Path.Combine(_root, "real/dir"), RootedPath.ResolveStrict(_root, "real/back"));

    [Theory]
    [InlineData("abs")]
    [InlineData("up")]
    public void Strict_resolution_refuses_links_leaving_the_root(string link)
    {
        var error = Assert.Throws<UnsafeSymlinkException>(() => RootedPath.ResolveStrict(_root, link));
        Assert.Contains(link, error.Message);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
