using BuildFarm.IntegrationTests.Conformance;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>ADD of a git repository (issue #15): pinned to the commit its ref names when the build plans, so the commit is
/// the content checksum; served here by a real git daemon on loopback.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class GitSourceTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);
    private readonly LocalGitDaemon _git = new();

    public void Dispose()
    {
        _git.Dispose();
        _scratch.Dispose();
    }

    [Fact]
    public async Task Add_git_tag_hits_the_cache_until_the_tag_moves()
    {
        _git.Commit("app", ("a.txt", "one\n"));
        _git.Tag("app", "v1");
        var context = _scratch.Context("git-tag", $"""
            FROM scratch
            ADD rootfs.tar /
            ADD {_git.Url("app")}#v1 /src
            CMD ["sh", "-c", "cat /src/a.txt; test -e /src/.git && echo has-git-dir; true"]
            """);
        const string addStep = "[stage-0 3/4] ADD";

        var first = await _scratch.Cli.BuildAsync("-t", "git-tag", context);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal("one", (await _scratch.Cli.RunAsync("run", "git-tag")).Stdout.Trim());

        var unchanged = await _scratch.Cli.BuildAsync("-t", "git-tag", context);
        Assert.True(unchanged.ExitCode == 0, unchanged.ToString());
        Assert.Contains(new PlainProgress(unchanged.Stdout + unchanged.Stderr).Cached, s => s.StartsWith(addStep, StringComparison.Ordinal));

        _git.Commit("app", ("a.txt", "two\n"));
        _git.Tag("app", "v1");
        var moved = await _scratch.Cli.BuildAsync("-t", "git-tag", context);
        Assert.True(moved.ExitCode == 0, moved.ToString());
        Assert.Contains(new PlainProgress(moved.Stdout + moved.Stderr).Executed, s => s.StartsWith(addStep, StringComparison.Ordinal));
        Assert.Equal("two", (await _scratch.Cli.RunAsync("run", "git-tag")).Stdout.Trim());
    }

    [Fact]
    public async Task Add_git_keep_git_dir_and_subdir()
    {
        var commit = _git.Commit("lib", ("pkg/b.txt", "bee\n"), ("top.txt", "top\n"));
        var context = _scratch.Context("git-keep", $"""
            FROM scratch
            ADD rootfs.tar /
            ADD {_git.Url("lib")}#main:pkg /pkg/
            ADD --keep-git-dir=true {_git.Url("lib")}#main /repo
            CMD ["sh", "-c", "ls /pkg; cat /repo/.git/HEAD"]
            """);

        var build = await _scratch.Cli.BuildAsync("-t", "git-keep", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        var lines = (await _scratch.Cli.RunAsync("run", "git-keep")).Stdout.Trim().Split('\n');
        Assert.Equal(["b.txt", commit], lines);
    }

    [Fact]
    public async Task Add_git_builds_the_tree_buildkit_builds()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        _git.Commit("tree", ("README", "top\n"), ("src/main.sh", "echo hi\n"), ("docs/a/b.txt", "deep\n"));
        LocalGitDaemon.Git(_git.Repository("tree"), "update-index", "--chmod=+x", "src/main.sh");
        LocalGitDaemon.Git(_git.Repository("tree"), "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "exec bit");
        _git.Tag("tree", "v2");
        var context = _scratch.Context("git-vs-buildkit", $"""
            FROM scratch
            ADD {_git.Url("tree")}#v2 /all
            ADD {_git.Url("tree")}#v2:docs /docs/
            ADD --chown=1:2 {_git.Url("tree")}#main:src /owned
            """);

        var peer = await BuildKitPeer.StartAsync(ExampleContext.RepositoryRoot, timeout.Token);
        var theirsArchive = Path.Combine(_scratch.Root, "buildkit.tar");
        var error = await peer.BuildAsync(context, [], "bf-git-source:1", theirsArchive, timeout.Token);
        Assert.True(error is null, $"BuildKit: {error}");
        var oursArchive = Path.Combine(_scratch.Root, "ours.tar");
        var ours = await _scratch.Cli.BuildAsync("-o", $"type=docker,dest={oursArchive}", context);
        Assert.True(ours.ExitCode == 0, ours.ToString());

        var theirs = BuildOutcome.Image(await ImageTreeNormalizer.NormalizeArchiveAsync(theirsArchive, null, timeout.Token));
        var differences = BuildOutcome.Image(await ImageTreeNormalizer.NormalizeArchiveAsync(oursArchive, null, timeout.Token)).DifferencesFrom(theirs);
        Assert.True(differences.Count == 0, string.Join('\n', differences) + "\n--- buildkit\n" + string.Join('\n', theirs.ToLines()));
        Assert.Contains(theirs.ToLines(), l => l.StartsWith("/all/src/main.sh file 0755", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Add_git_unknown_ref_fails_naming_the_line()
    {
        _git.Commit("app", ("a.txt", "one\n"));
        var context = _scratch.Context("git-noref", $"""
            FROM scratch
            ADD rootfs.tar /
            ADD {_git.Url("app")}#no-such-tag /src
            """);

        var build = await _scratch.Cli.BuildAsync(context);

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("Dockerfile:3", build.Stderr);
        Assert.Contains("does not contain ref no-such-tag", build.Stderr);
    }
}
