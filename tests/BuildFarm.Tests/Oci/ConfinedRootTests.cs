using BuildFarm.Oci.Native;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Oci;

/// <summary>The write-beneath-a-root primitive, with openat2 and with the openat walk that replaces it on old kernels.</summary>
public class ConfinedRootTests
{
    public static TheoryData<bool> Resolvers => new() { true, false };

    [Fact]
    public void This_kernel_has_openat2_and_a_root_uses_it()
    {
        using var dir = new TempDirectory();
        Assert.True(ConfinedRoot.KernelHasOpenat2);
        using var root = ConfinedRoot.Open(dir.Path);
        Assert.True(root.UsesOpenat2);
        using var fallback = ConfinedRoot.Open(dir.Path, allowOpenat2: false);
        Assert.False(fallback.UsesOpenat2);
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void Opening_a_directory_through_a_symlink_is_refused_naming_the_entry(bool openat2)
    {
        using var dir = new TempDirectory();
        var outside = dir.CreateSubdirectory("outside");
        var rootPath = dir.CreateSubdirectory("root");
        File.CreateSymbolicLink(Path.Combine(rootPath, "a"), outside);
        using var root = ConfinedRoot.Open(rootPath, openat2);
        var e = Assert.Throws<UnsafePathException>(() => root.OpenDirectory("a/b", create: true, "entry a/b/file"));
        Assert.Equal("entry a/b/file", e.Entry);
        Assert.Contains("entry a/b/file", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void A_relative_symlink_inside_the_root_is_not_followed_either(bool openat2)
    {
        using var dir = new TempDirectory();
        var rootPath = dir.CreateSubdirectory("root");
        Directory.CreateDirectory(Path.Combine(rootPath, "real"));
        File.CreateSymbolicLink(Path.Combine(rootPath, "link"), "real");
        using var root = ConfinedRoot.Open(rootPath, openat2);
        Assert.Throws<UnsafePathException>(() => root.OpenDirectory("link", create: false));
        using var real = root.OpenDirectory("real", create: false);
        Assert.Equal("real", real.RelativePath);
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void Dot_dot_and_absolute_paths_are_refused(bool openat2)
    {
        using var dir = new TempDirectory();
        using var root = ConfinedRoot.Open(dir.CreateSubdirectory("root"), openat2);
        Assert.Throws<UnsafePathException>(() => root.OpenDirectory("a/../../x", create: true));
        Assert.Throws<UnsafePathException>(() => root.OpenDirectory("/etc", create: true));
        using var top = root.OpenDirectory("", create: false);
        Assert.Throws<UnsafePathException>(() => top.CreateFile("..", 0b110_100_100));
        Assert.Throws<UnsafePathException>(() => top.CreateFile("a/b", 0b110_100_100));
        Assert.False(Directory.Exists(dir.Combine("x")));
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void Missing_directories_are_created_with_mode_0755(bool openat2)
    {
        using var dir = new TempDirectory();
        var rootPath = dir.CreateSubdirectory("root");
        using var root = ConfinedRoot.Open(rootPath, openat2);
        using (var d = root.OpenDirectory("x/y/z", create: true))
        using (var f = d.CreateFile("file", 0b110_100_100))
            f.Write("hi"u8);
        Assert.Equal("hi", File.ReadAllText(Path.Combine(rootPath, "x/y/z/file")));
        Assert.Equal(0b111_101_101u, Posix.LStat(Path.Combine(rootPath, "x/y")).Permissions);
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void A_file_created_over_a_symlink_replaces_the_link_and_leaves_its_target_alone(bool openat2)
    {
        using var dir = new TempDirectory();
        var victim = dir.Combine("victim");
        File.WriteAllText(victim, "host data");
        var rootPath = dir.CreateSubdirectory("root");
        File.CreateSymbolicLink(Path.Combine(rootPath, "f"), victim);
        using var root = ConfinedRoot.Open(rootPath, openat2);
        using var top = root.OpenDirectory("", create: false);
        Assert.Throws<IOException>(() => top.CreateFile("f", 0b110_100_100, replace: false).Dispose());
        using (var f = top.CreateFile("f", 0b110_100_100, replace: true)) f.Write("new"u8);
        Assert.Equal("host data", File.ReadAllText(victim));
        Assert.Equal("new", File.ReadAllText(Path.Combine(rootPath, "f")));
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void Metadata_calls_on_a_symlink_leave_its_target_alone(bool openat2)
    {
        using var dir = new TempDirectory();
        var victim = dir.Combine("victim");
        File.WriteAllText(victim, "host data");
        Posix.Chmod(victim, 0b110_100_100);
        var before = Posix.LStat(victim);
        using var root = ConfinedRoot.Open(dir.CreateSubdirectory("root"), openat2);
        using var top = root.OpenDirectory("", create: false);
        top.CreateSymlink("l", victim);
        top.SetOwner("l", 1234, 1234);
        top.SetTimes("l", 1, 0);
        Assert.ThrowsAny<IOException>(() => top.SetMode("l", 0b111_111_111));
        var after = Posix.LStat(victim);
        Assert.Equal((before.Uid, before.Mode, before.ModificationSeconds), (after.Uid, after.Mode, after.ModificationSeconds));
        Assert.Equal(1234u, Posix.LStat(dir.Combine("root", "l")).Uid);
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void A_hard_link_to_a_symlink_links_the_symlink_not_its_target(bool openat2)
    {
        using var dir = new TempDirectory();
        var victim = dir.Combine("victim");
        File.WriteAllText(victim, "host data");
        var rootPath = dir.CreateSubdirectory("root");
        using var root = ConfinedRoot.Open(rootPath, openat2);
        using var top = root.OpenDirectory("", create: false);
        top.CreateSymlink("l", victim);
        top.CreateHardLink("h", top, "l");
        Assert.Equal(FileStatus.Symlink, Posix.LStat(Path.Combine(rootPath, "h")).Type);
        Assert.Equal(1UL, Posix.LStat(victim).LinkCount);
    }

    [Theory, MemberData(nameof(Resolvers))]
    public void Removing_a_directory_never_follows_a_symlink_inside_it(bool openat2)
    {
        using var dir = new TempDirectory();
        var outside = dir.CreateSubdirectory("outside");
        File.WriteAllText(Path.Combine(outside, "keep"), "k");
        var rootPath = dir.CreateSubdirectory("root");
        Directory.CreateDirectory(Path.Combine(rootPath, "d/sub"));
        File.CreateSymbolicLink(Path.Combine(rootPath, "d/sub/out"), outside);
        using var root = ConfinedRoot.Open(rootPath, openat2);
        using var top = root.OpenDirectory("", create: false);
        top.Remove("d");
        Assert.False(Directory.Exists(Path.Combine(rootPath, "d")));
        Assert.Equal("k", File.ReadAllText(Path.Combine(outside, "keep")));
    }
}
