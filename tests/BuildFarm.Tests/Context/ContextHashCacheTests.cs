using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Context;
using BuildFarm.Oci.Native;

namespace BuildFarm.Tests.Ignore;

public sealed class ContextHashCacheTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-ctx-").FullName;
    private readonly string _cache = Directory.CreateTempSubdirectory("bf-hashes-").FullName;

    // Files written by a test are seconds old; a walk "an hour later" may remember them.
    private static readonly DateTimeOffset Later = DateTimeOffset.UtcNow.AddHours(1);

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_cache, recursive: true);
    }

    private void Write(string relative, string content)
    {
        var full = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }

    private IReadOnlyList<ContextEntry> Walk(DateTimeOffset now) =>
        ContextWalker.Walk(_root, PatternMatcher.Create([]), ContextHashCache.Open(_cache, _root, now));

    [Fact]
    public void A_cached_walk_lists_the_same_entries_as_an_uncached_one()
    {
        for (var i = 0; i < 50; i++) Write($"d{i % 5}/f{i}.txt", $"file {i}");

        var first = Walk(Later);
        var second = Walk(Later);

        Assert.Equal(ContextWalker.Walk(_root, PatternMatcher.Create([])), first);
        Assert.Equal(first, second);
    }

    [Fact]
    public void A_file_changed_in_place_with_the_same_size_and_mtime_is_hashed_again()
    {
        Write("a.txt", "hello");
        var path = Path.Combine(_root, "a.txt");
        var mtime = File.GetLastWriteTimeUtc(path);
        var before = Posix.LStat(path);
        Walk(Later);

        // Only ctime tells the change, and the kernel stamps it from a coarse clock: a rewrite within the same tick
        // keeps it (no cache can tell that one, git's index neither), so rewrite until the stamp moved.
        FileStatus after;
        do
        {
            File.WriteAllText(path, "world");
            File.SetLastWriteTimeUtc(path, mtime);
            after = Posix.LStat(path);
        }
        while ((after.ChangeSeconds, after.ChangeNanoseconds) == (before.ChangeSeconds, before.ChangeNanoseconds));
        var entry = Assert.Single(Walk(Later.AddSeconds(1)));

        Assert.Equal("sha256:486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7", entry.Sha256);
    }

    [Fact]
    public void Files_changed_just_now_are_not_remembered()
    {
        Write("a.txt", "hello");
        Walk(DateTimeOffset.UtcNow);

        Assert.Empty(Directory.GetFiles(_cache)); // nothing old enough to trust
    }

    [Fact]
    public void A_damaged_cache_file_only_means_hashing_again()
    {
        Write("a.txt", "hello");
        Walk(Later);
        foreach (var file in Directory.GetFiles(_cache)) File.WriteAllBytes(file, [1, 2, 3]);

        var entry = Assert.Single(Walk(Later));

        Assert.Equal("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", entry.Sha256);
    }
}
