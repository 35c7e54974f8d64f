using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Tests.Ignore;

public sealed class ContextWalkerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-ctx-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("bf-outside-").FullName;

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    private void Write(string relative, string content)
    {
        var full = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }

    [Fact]
    public void Excluded_files_are_left_out_and_exceptions_bring_them_back()
    {
        Write("app/main.go", "package main");
        Write("docs/README.md", "readme");
        Write("docs/guide.md", "guide");
        Write("node_modules/x/index.js", "x");
        var matcher = PatternMatcher.Create(IgnoreFile.ReadAll("node_modules\ndocs\n!docs/README.md\n"));

        var paths = ContextWalker.Walk(_root, matcher).Select(e => e.Path).ToList();

        Assert.Equal(["app", "app/main.go", "docs", "docs/README.md"], paths);
    }

    [Fact]
    public void Files_carry_their_content_digest_size_and_mode()
    {
        Write("a.txt", "hello");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(Path.Combine(_root, "a.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var entry = Assert.Single(ContextWalker.Walk(_root, PatternMatcher.Create([])));

        Assert.Equal("a.txt", entry.Path);
        Assert.Equal(ContextEntryKind.File, entry.Kind);
        Assert.Equal(5, entry.Size);
        Assert.Equal("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", entry.Sha256);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(0x8000 | 0x1C0, entry.Mode);
    }

    [Fact]
    public void Symlinks_are_recorded_and_never_followed_out_of_the_root()
    {
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(_root, "escape"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "file-link"), Path.Combine(_outside, "secret.txt"));

        var entries = ContextWalker.Walk(_root, PatternMatcher.Create([]));

        Assert.Equal(["escape", "file-link"], entries.Select(e => e.Path));
        Assert.All(entries, e => Assert.Equal(ContextEntryKind.Symlink, e.Kind));
        Assert.Equal(_outside, entries[0].LinkTarget);
        Assert.DoesNotContain(entries, e => e.Path.Contains("secret"));
    }

    [Fact]
    public void Dockerfile_specific_ignore_file_wins_over_dockerignore()
    {
        Write("Dockerfile", "FROM scratch");
        Write(".dockerignore", "a");
        Assert.Equal(Path.Combine(_root, ".dockerignore"), IgnoreFileLocator.Find(_root, "Dockerfile"));

        Write("Dockerfile.dockerignore", "b");
        Assert.Equal(Path.Combine(_root, "Dockerfile.dockerignore"), IgnoreFileLocator.Find(_root, "Dockerfile"));

        Write("build/app.Dockerfile.dockerignore", "c");
        Assert.Equal(Path.Combine(_root, "build/app.Dockerfile.dockerignore"), IgnoreFileLocator.Find(_root, "build/app.Dockerfile"));
    }

    [Fact]
    public async Task A_bad_pattern_is_reported_with_its_file_and_line()
    {
        Write(".dockerignore", "ok\n# comment\n[Local-Only]/\n");

        var e = await Assert.ThrowsAsync<PatternSyntaxException>(() => IgnoreFileLocator.LoadAsync(_root, "Dockerfile"));

        Assert.Contains(".dockerignore:3:1:", e.Message);
        Assert.Contains("[Local-Only]", e.Message);
    }

    [Fact]
    public void A_lone_exclamation_mark_is_rejected()
    {
        var e = Assert.Throws<PatternSyntaxException>(() => PatternMatcher.Create(["!"]));
        Assert.Equal("illegal exclusion pattern: \"!\"", e.Message);
    }

    [Fact]
    public void Named_pipe_in_the_context_is_refused_by_name_instead_of_blocking()
    {
        Write("a.txt", "hello");
        var fifo = Path.Combine(_root, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var matcher = PatternMatcher.Create([]);

        var error = Assert.Throws<IOException>(() => ContextWalker.Walk(_root, matcher));

        Assert.Contains("'pipe' is a named pipe", error.Message);
    }

    [Fact]
    public void Named_pipe_excluded_by_dockerignore_is_skipped()
    {
        Write("a.txt", "hello");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(_root, "pipe"))) mkfifo.WaitForExit();
        var matcher = PatternMatcher.Create(IgnoreFile.ReadAll("pipe\n"));

        Assert.Equal(["a.txt"], ContextWalker.Walk(_root, matcher).Select(e => e.Path));
    }
}
