using BuildFarm.Oci.FileSystem;
using BuildFarm.Oci.Native;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Oci;

public sealed class FileTreeTests : IDisposable
{
    private readonly TempDirectory _outside = new();
    private readonly TempDirectory _tree = new();

    public void Dispose()
    {
        _tree.Dispose();
        _outside.Dispose();
    }

    [Fact]
    public void Walk_lists_a_symlinked_directory_as_one_symlink_entry()
    {
        Directory.CreateDirectory(_outside.Combine("deep/deeper"));
        File.WriteAllBytes(_outside.Combine("deep/deeper/big"), new byte[100_000]);
        Directory.CreateDirectory(_tree.Combine("d"));
        File.WriteAllText(_tree.Combine("d/f"), "12345");
        File.CreateSymbolicLink(_tree.Combine("d/out"), _outside.Path);

        var entries = FileTree.Walk(_tree.Path).ToDictionary(e => e.RelativePath, e => e.Status.Type);

        Assert.Equal(["d", "d/f", "d/out"], entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(FileStatus.Symlink, entries["d/out"]);
    }

    [Fact]
    public void Regular_file_bytes_count_neither_symlink_targets_nor_hard_links_twice()
    {
        File.WriteAllBytes(_outside.Combine("big"), new byte[100_000]);
        File.WriteAllText(_tree.Combine("f"), "12345");
        Posix.Link(_tree.Combine("f"), _tree.Combine("f2"));
        File.CreateSymbolicLink(_tree.Combine("to-file"), _outside.Combine("big"));
        File.CreateSymbolicLink(_tree.Combine("to-dir"), _outside.Path);
        File.CreateSymbolicLink(_tree.Combine("to-root"), "/");

        Assert.Equal(5, FileTree.RegularFileBytes(_tree.Path));
    }
}
