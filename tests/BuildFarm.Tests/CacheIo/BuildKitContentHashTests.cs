using BuildFarm.Coordinator.CacheIo.BuildKitKeys;
using BuildFarm.Oci.Native;

namespace BuildFarm.Tests.CacheIo;

/// <summary>
/// Record digests copied from a cache real BuildKit wrote (Debian 13's dockerd 26.1.5, BuildKit v0.13, buildx 0.13.1,
/// `--network none --cache-to type=local,mode=max`) for `COPY file.txt /x` and `COPY dir/ /d/` from a context holding
/// file.txt ("hello\n", 0644), dir/ (0755) with a ("aaa\n", 0644) and sub/ (0755) with b ("bbb\n", 0644), all owned by
/// 0:0. The context's content key is exported as a root record, RootKey(key, -1).
/// </summary>
public sealed class BuildKitContentHashTests : IDisposable
{
    private readonly string _context = Directory.CreateTempSubdirectory("bf-bkhash-").FullName;

    public BuildKitContentHashTests()
    {
        Write("file.txt", "hello\n", 0b110_100_100);
        Directory.CreateDirectory(Path.Combine(_context, "dir", "sub"));
        Write("dir/a", "aaa\n", 0b110_100_100);
        Write("dir/sub/b", "bbb\n", 0b110_100_100);
        foreach (var d in new[] { "dir", "dir/sub" }) Posix.Chmod(Path.Combine(_context, d), 0b111_101_101);
        foreach (var p in new[] { "file.txt", "dir", "dir/a", "dir/sub", "dir/sub/b" }) Posix.LChown(Path.Combine(_context, p), 0, 0);
    }

    private void Write(string relative, string text, uint mode)
    {
        var path = Path.Combine(_context, relative);
        File.WriteAllText(path, text);
        Posix.Chmod(path, mode);
    }

    [Fact]
    public void Context_key_of_a_file_equals_the_record_BuildKit_wrote_for_COPY_file_txt()
    {
        var checksum = BuildKitContentHash.Checksum(_context, "/file.txt", CancellationToken.None);
        Assert.Equal("sha256:09eefdc91e8894bc767daae7daa5a4e8cbf396610f10ae20604d9086c76d4a93", checksum);
        var (_, contextKey) = BuildKitOpKeys.CopyFromContext("/file.txt", "/x", checksum!);
        Assert.Equal("sha256:c24a47b576469b52903dd7e5045a62fee5855b447dee1771d67b829458d2c08e",
            BuildKitDigest.RootKey(contextKey, BuildKitOpKeys.ContentKeyOutput));
    }

    [Fact]
    public void Context_key_and_op_key_of_a_directory_equal_the_records_BuildKit_wrote_for_COPY_dir_to_d()
    {
        var checksum = BuildKitContentHash.Checksum(_context, "/dir", CancellationToken.None);
        var (digest, contextKey) = BuildKitOpKeys.CopyFromContext("/dir", "/d/", checksum!);
        Assert.Equal("sha256:fa2d1ecb3becc2edf150d2bf0ee0947068b4e067ba9db6a8f787eed1b2d4589c",
            BuildKitDigest.RootKey(contextKey, BuildKitOpKeys.ContentKeyOutput));
        Assert.Equal("sha256:176df19e1061107c068ef17240d8a5e3087c3e779188be804edabed0e7fe63e3", BuildKitDigest.RootKey(digest));
    }

    [Fact]
    public void Context_checksum_changes_with_content_and_mode_but_not_mtime()
    {
        var before = BuildKitContentHash.Checksum(_context, "/dir", CancellationToken.None);
        File.SetLastWriteTimeUtc(Path.Combine(_context, "dir/sub/b"), new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.Equal(before, BuildKitContentHash.Checksum(_context, "/dir", CancellationToken.None));
        Posix.Chmod(Path.Combine(_context, "dir/sub/b"), 0b111_101_101);
        var chmodded = BuildKitContentHash.Checksum(_context, "/dir", CancellationToken.None);
        Assert.NotEqual(before, chmodded);
        File.WriteAllText(Path.Combine(_context, "dir/sub/b"), "bbc\n");
        Assert.NotEqual(chmodded, BuildKitContentHash.Checksum(_context, "/dir", CancellationToken.None));
    }

    [Fact]
    public void Context_checksum_gives_up_on_symlinks_and_missing_paths()
    {
        File.CreateSymbolicLink(Path.Combine(_context, "dir/link"), "a");
        Assert.Null(BuildKitContentHash.Checksum(_context, "/dir", CancellationToken.None));
        Assert.Null(BuildKitContentHash.Checksum(_context, "/dir/link", CancellationToken.None));
        Assert.Null(BuildKitContentHash.Checksum(_context, "/missing", CancellationToken.None));
        Assert.NotNull(BuildKitContentHash.Checksum(_context, "/dir/sub", CancellationToken.None));
    }

    public void Dispose() => Directory.Delete(_context, recursive: true);
}
