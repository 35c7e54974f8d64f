using BuildFarm.TestSupport;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Tests.Serve;

/// <summary>With a .dockerignore, the context a build sees is a staged copy written beneath its own root.</summary>
public sealed class BuildContextStagingTests
{
    [Fact]
    public async Task Staging_keeps_the_listed_entries_and_symlinks_as_links_without_following_them()
    {
        using var dir = new TempDirectory();
        var outside = dir.CreateSubdirectory("outside");
        var root = dir.CreateSubdirectory("ctx");
        File.WriteAllText(Path.Combine(root, ".dockerignore"), "*.log\n");
        File.WriteAllText(Path.Combine(root, "Dockerfile"), "FROM scratch\n");
        Directory.CreateDirectory(Path.Combine(root, "src"));
        File.WriteAllText(Path.Combine(root, "src", "main.c"), "int main;");
        File.WriteAllText(Path.Combine(root, "debug.log"), "ignored");
        File.CreateSymbolicLink(Path.Combine(root, "host"), outside);

        using var context = await BuildContext.OpenAsync(root, null, dir.Combine("scratch"), CancellationToken.None);

        Assert.NotEqual(root, context.Directory);
        Assert.Equal("int main;", File.ReadAllText(Path.Combine(context.Directory, "src", "main.c")));
        Assert.False(File.Exists(Path.Combine(context.Directory, "debug.log")));
        Assert.Equal(outside, new FileInfo(Path.Combine(context.Directory, "host")).LinkTarget);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }
}
