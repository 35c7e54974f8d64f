using BuildFarm.TestSupport;
using BuildFarm.Worker.Execution;

namespace BuildFarm.Tests.Worker;

/// <summary>Mount stubs are cleaned from the run's upper directory, and only from there.</summary>
public sealed class MountStubsTests
{
    [Fact]
    public void A_mount_target_climbing_with_dot_dot_cleans_inside_the_upper_directory_only()
    {
        using var dir = new TempDirectory();
        var victim = dir.CreateSubdirectory("victim");
        System.IO.File.WriteAllText(Path.Combine(dir.Path, "empty-host-file"), "");
        var rootfs = dir.CreateSubdirectory("rootfs");
        var upper = dir.CreateSubdirectory("a/b/upper");
        var stubs = new MountStubs(rootfs, ["/../../../victim", "/../../../empty-host-file", "/cache"]);
        Directory.CreateDirectory(Path.Combine(upper, "victim"));
        Directory.CreateDirectory(Path.Combine(upper, "cache"));

        stubs.Remove(upper);

        Assert.True(Directory.Exists(victim));
        Assert.True(System.IO.File.Exists(Path.Combine(dir.Path, "empty-host-file")));
        Assert.False(Directory.Exists(Path.Combine(upper, "victim")));
        Assert.False(Directory.Exists(Path.Combine(upper, "cache")));
    }

    [Fact]
    public void A_stub_parent_swapped_for_a_symlink_is_not_followed()
    {
        using var dir = new TempDirectory();
        var outside = dir.CreateSubdirectory("outside");
        Directory.CreateDirectory(Path.Combine(outside, "stub"));
        var rootfs = dir.CreateSubdirectory("rootfs");
        var upper = dir.CreateSubdirectory("upper");
        var stubs = new MountStubs(rootfs, ["/run/stub"]);
        System.IO.File.CreateSymbolicLink(Path.Combine(upper, "run"), outside);

        stubs.Remove(upper);

        Assert.True(Directory.Exists(Path.Combine(outside, "stub")));
    }
}
