using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Coordinator.Context;
using BuildFarm.Oci.Git;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Builds;

/// <summary>Key filling for one build: images already pinned by the runner, context checksums from the walked context,
/// git commits from the remotes (over ssh with the build's agent, <paramref name="sshAgents"/>: ssh id → socket on this
/// host).</summary>
public sealed class ResolvingInputs(IReadOnlyDictionary<string, ResolvedImage> images, BuildContext context,
    IReadOnlyDictionary<string, string>? sshAgents = null) : IPlanInputResolver
{
    /// <summary>The agent git over ssh uses, as BuildKit's git source (AttrMountSSHSock's default).</summary>
    public const string GitSshId = "default";

    private readonly GitRefResolver _git = new();
    private readonly SshHostKeyScanner _scanner = new();

    public ValueTask<string> ResolveImageDigestAsync(string reference, string platform, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ResolvedImageKey.Find(images, reference, platform).ManifestDigest);

    public ValueTask<string> ComputeContextChecksumAsync(ContextSelection selection, CancellationToken cancellationToken) =>
        ValueTask.FromResult(context.Checksum(selection));

    // one lookup per repository and ref in a build: two ADDs of the same ref see the same commit even if it moves meanwhile
    private readonly Dictionary<(string Remote, string Ref), string> _commits = [];
    // one scan per ssh server in a build: the planner and every worker trust the same keys
    private readonly Dictionary<(string Host, int? Port), string> _knownHosts = [];

    public async ValueTask<string> ResolveGitCommitAsync(GitSource source, CancellationToken cancellationToken)
    {
        if (_commits.TryGetValue((source.Remote, source.Ref), out var known)) return known;
        GitSsh? ssh = null;
        if (source.IsSsh)
        {
            if (sshAgents?.GetValueOrDefault(GitSshId) is not { } agent)
                // BuildKit: "failed to load cache key: unset ssh forward key default"
                throw new GitSourceException(
                    $"unset ssh forward key {GitSshId}: {source} is a git repository over ssh and needs an ssh agent (build with --ssh {GitSshId})");
            ssh = new GitSsh(agent, await KnownHostsAsync(source, cancellationToken));
        }
        var commit = await _git.ResolveAsync(source, ssh, cancellationToken);
        _commits[(source.Remote, source.Ref)] = commit;
        return commit;
    }

    private async Task<string> KnownHostsAsync(GitSource source, CancellationToken cancellationToken)
    {
        (string, int?) server;
        try
        {
            server = source.SshServer();
        }
        catch (FormatException e)
        {
            throw new GitSourceException(e.Message, e);
        }
        if (!_knownHosts.TryGetValue(server, out var lines))
            _knownHosts[server] = lines = await _scanner.ScanAsync(server.Item1, server.Item2, cancellationToken);
        return lines;
    }

    /// <summary>Tells each ADD of a remote over ssh in <paramref name="graph"/> which agent its worker's git uses and the host
    /// keys scanned here (neither is part of a cache key: the commit is the content).</summary>
    public void AnnotateSshSources(BuildGraph graph)
    {
        foreach (var node in graph.Nodes)
        {
            if (node.Definition?.Add is not { } add) continue;
            foreach (var git in add.Git)
            {
                var source = new GitSource(git.Remote, git.Ref, git.Subdir);
                if (!source.IsSsh) continue;
                git.SshId = GitSshId;
                git.KnownHosts = _knownHosts.GetValueOrDefault(source.SshServer()) ?? "";
            }
        }
    }
}
