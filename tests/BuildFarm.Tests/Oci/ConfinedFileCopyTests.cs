using BuildFarm.Oci.Native;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Oci;

/// <summary><see cref="ConfinedDirectory.CreateFileCopy"/>: a COPY's per-file primitive (content in the kernel, metadata
/// through the new file's fd).</summary>
public class ConfinedFileCopyTests
{
    [Fact]
    public void A_copied_file_has_the_content_owner_mode_and_mtime_asked_for()
    {
        using var dir = new TempDirectory();
        var source = dir.Combine("src.bin");
        var content = new byte[300_000];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(source, content);
        var rootPath = dir.CreateSubdirectory("root");
        using var root = ConfinedRoot.Open(rootPath);
        using var top = root.OpenDirectory("", create: false, "top");

        var copied = top.CreateFileCopy("dst.bin", source, 1234, 5678, 0b100_111_101_101, 1_600_000_000, 123_456_789);

        Assert.Equal(content.Length, copied);
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(rootPath, "dst.bin")));
        var status = Posix.LStat(Path.Combine(rootPath, "dst.bin"));
        Assert.Equal((1234u, 5678u), (status.Uid, status.Gid));
        Assert.Equal(0b100_111_101_101u, status.Mode & 0xFFF); // setuid kept: the mode is set after the owner
        Assert.Equal((1_600_000_000L, 123_456_789L), (status.ModificationSeconds, status.ModificationNanoseconds));
    }

    [Fact]
    public void An_empty_file_is_copied_empty()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.Combine("empty"), []);
        var rootPath = dir.CreateSubdirectory("root");
        using var root = ConfinedRoot.Open(rootPath);
        using var top = root.OpenDirectory("", create: false, "top");

        Assert.Equal(0, top.CreateFileCopy("empty", dir.Combine("empty"), 0, 0, 0b110_100_100, 0, 0));
        Assert.Empty(File.ReadAllBytes(Path.Combine(rootPath, "empty")));
    }

    [Fact]
    public void An_existing_target_is_not_overwritten_even_through_a_symlink()
    {
        using var dir = new TempDirectory();
        var victim = dir.Combine("victim");
        File.WriteAllText(victim, "keep");
        File.WriteAllText(dir.Combine("src"), "planted");
        var rootPath = dir.CreateSubdirectory("root");
        File.CreateSymbolicLink(Path.Combine(rootPath, "link"), victim);
        using var root = ConfinedRoot.Open(rootPath);
        using var top = root.OpenDirectory("", create: false, "top");

        var e = Assert.Throws<IOException>(() => top.CreateFileCopy("link", dir.Combine("src"), 0, 0, 0b110_100_100, 0, 0));

        Assert.Contains("link", e.Message);
        Assert.Equal("keep", File.ReadAllText(victim));
    }

    [Fact]
    public void A_source_that_is_a_symlink_is_refused_not_followed()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("secret"), "s");
        File.CreateSymbolicLink(dir.Combine("src"), dir.Combine("secret"));
        var rootPath = dir.CreateSubdirectory("root");
        using var root = ConfinedRoot.Open(rootPath);
        using var top = root.OpenDirectory("", create: false, "top");

        var e = Assert.Throws<IOException>(() => top.CreateFileCopy("dst", dir.Combine("src"), 0, 0, 0b110_100_100, 0, 0));

        Assert.Contains(dir.Combine("src"), e.Message);
        Assert.False(File.Exists(Path.Combine(rootPath, "dst")));
    }
}
