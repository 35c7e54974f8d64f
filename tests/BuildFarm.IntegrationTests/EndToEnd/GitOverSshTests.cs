using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>ADD of a git repository over ssh (issue #15): git authenticates with the build's --ssh agent (the "default"
/// id, as BuildKit's git source) against a real sshd on loopback that accepts only the test's key.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class GitOverSshTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);
    private readonly LocalSshGitServer _sshd = new();

    public void Dispose()
    {
        _sshd.Dispose();
        _scratch.Dispose();
    }

    [Fact]
    public async Task Add_git_over_ssh_fetches_the_tag_with_the_builds_agent()
    {
        _sshd.Commit("app", ("a.txt", "tagged\n"));
        _sshd.Tag("app", "v1");
        _sshd.Commit("app", ("a.txt", "after-the-tag\n"));
        var context = _scratch.Context("git-ssh", $"""
            FROM scratch
            ADD rootfs.tar /
            ADD {_sshd.Url("app")}#v1 /src
            CMD ["sh", "-c", "cat /src/a.txt; test -e /src/.git && echo has-git-dir; true"]
            """);

        var build = await _scratch.Cli.BuildAsync("--ssh", $"default={_sshd.ClientKey}", "-t", "git-ssh", context);

        Assert.True(build.ExitCode == 0, $"{build}\n--- sshd\n{_sshd.Log}");
        Assert.Equal("tagged", (await _scratch.Cli.RunAsync("run", "git-ssh")).Stdout.Trim());
    }

    [Fact]
    public async Task Add_git_over_ssh_without_ssh_names_the_url_and_asks_for_an_agent()
    {
        _sshd.Commit("app", ("a.txt", "x\n"));
        var url = _sshd.Url("app");
        var context = _scratch.Context("git-ssh-no-agent", $"""
            FROM scratch
            ADD {url}#main /src
            """);

        var build = await _scratch.Cli.BuildAsync(context);

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains(url + "#main", build.Stderr);
        Assert.Contains("unset ssh forward key default", build.Stderr); // BuildKit's words
        Assert.Contains("needs an ssh agent (build with --ssh default)", build.Stderr);
    }

    [Fact]
    public async Task Add_git_over_ssh_builds_the_tree_buildkit_builds()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        _sshd.Commit("tree", ("README", "top\n"), ("docs/a/b.txt", "deep\n"));
        _sshd.Tag("tree", "v1");
        var context = _scratch.Context("git-ssh-vs-buildkit", $"""
            FROM scratch
            ADD {_sshd.Url("tree")}#v1 /all
            ADD {_sshd.Url("tree")}#v1:docs /docs/
            """);

        var peer = await Conformance.BuildKitPeer.StartAsync(ExampleContext.RepositoryRoot, timeout.Token);
        var theirsArchive = Path.Combine(_scratch.Root, "buildkit.tar");
        var error = await peer.BuildAsync(context, ["--ssh", $"default={_sshd.ClientKey}"], "bf-git-ssh:1", theirsArchive, timeout.Token);
        Assert.True(error is null, $"BuildKit: {error}\n--- sshd\n{_sshd.Log}");
        var oursArchive = Path.Combine(_scratch.Root, "ours.tar");
        var ours = await _scratch.Cli.BuildAsync("--ssh", $"default={_sshd.ClientKey}", "-o", $"type=docker,dest={oursArchive}", context);
        Assert.True(ours.ExitCode == 0, ours.ToString());

        var theirs = Conformance.BuildOutcome.Image(await Conformance.ImageTreeNormalizer.NormalizeArchiveAsync(theirsArchive, null, timeout.Token));
        var differences = Conformance.BuildOutcome.Image(await Conformance.ImageTreeNormalizer.NormalizeArchiveAsync(oursArchive, null, timeout.Token))
            .DifferencesFrom(theirs);
        Assert.True(differences.Count == 0, string.Join('\n', differences) + "\n--- buildkit\n" + string.Join('\n', theirs.ToLines()));
        Assert.Contains(theirs.ToLines(), l => l.StartsWith("/docs/a/b.txt file", StringComparison.Ordinal));
    }
}
