using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Worker.Diff;
using BuildFarm.Worker.Execution;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Steps;

/// <summary>
/// The worker's one entry point for a step: mounts the parent chain, runs the operation (RUN in a runc
/// container, COPY/ADD as file operations), turns the changes into a stored layer and keeps them as a snapshot.
/// Knows nothing of actors or Dockerfile syntax. Mounts are released on every path, cancellation included.
/// </summary>
public sealed class StepExecutor(
    ISnapshotter snapshotter, IExecutor executor, LayerDiffer differ, FileCopier copier, UrlFetcher urls,
    CacheMountStore caches, StepExecutorOptions options, CachingContentStore? blobCache = null)
{
    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    // without what dead processes left there: RUN helper files, secret tmpfs mounts, bind-mount overlays, layer tars
    private readonly string _scratch = CrashLeftovers.Swept(Path.Combine(options.Root, "tmp"));
    private readonly GitFetcher _git = new();

    /// <summary>Wires the standard parts: overlay snapshots and runc under <paramref name="options"/>.Root.</summary>
    public static StepExecutor Create(IContentStore store, StepExecutorOptions options, HttpClient? http = null)
    {
        var root = options.Root;
        return new StepExecutor(
            new OverlaySnapshotter(store, new OciLayerUnpacker(options.Trace),
                new SnapshotterOptions(Path.Combine(root, "s")) { CapacityBytes = options.SnapshotCacheBytes, Trace = options.Trace }),
            new RuncExecutor(new RuncOptions(Path.Combine(root, "runc"), Path.Combine(root, "bundles")) { Limits = options.Limits }),
            new LayerDiffer(store, Path.Combine(root, "tmp")),
            new FileCopier(new ArchiveExtractor()),
            new UrlFetcher(http ?? new HttpClient()),
            new CacheMountStore(Path.Combine(root, "cache-mounts")),
            options,
            store as CachingContentStore);
    }

    /// <summary>Whether this worker already holds the layer extracted (a step on top of it starts without pulling it).</summary>
    /// <summary>How long the upload of a layer this executor made took (once per layer; null when unknown).</summary>
    public Diff.UploadTiming? TakeUpload(string blobDigest) => differ.TakeUpload(blobDigest);

    public bool HasLocalLayer(Digest diffId) => snapshotter.HasLayer(diffId);

    /// <summary>Bytes this worker holds locally: its blob cache and its extracted layers (running totals: cheap).</summary>
    public long LocalBytes => (blobCache?.LocalBytes ?? 0) + snapshotter.LocalBytes;

    /// <summary>The diff ids of the layers this worker holds extracted, most recently used first.</summary>
    public IReadOnlyList<Digest> LocalLayers() => snapshotter.LayersByRecentUse();

    /// <summary>Keeps this worker's extracted layers under <paramref name="maxBytes"/> (least recently used go first;
    /// layers under a running step stay). Returns the bytes freed.</summary>
    public Task<long> PruneLocalLayersAsync(long maxBytes, CancellationToken cancellationToken) =>
        snapshotter.PruneAsync(maxBytes, cancellationToken);

    /// <summary>Starts a step; read <see cref="RunningStep.Output"/> while awaiting <see cref="RunningStep.Result"/>.
    /// Output is buffered without bound, so a slow reader never stalls the container.</summary>
    public RunningStep Start(StepRequest request, CancellationToken cancellationToken)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<OutputLine>(new() { SingleReader = true });
        var progress = new ChannelProgress(channel.Writer);
        var result = Task.Run(async () =>
        {
            try { return await ExecuteAsync(request, progress, cancellationToken); }
            finally { channel.Writer.TryComplete(); }
        }, CancellationToken.None);
        return new RunningStep(channel.Reader.ReadAllAsync(CancellationToken.None), result);
    }

    public Task<StepResult> ExecuteAsync(StepRequest request, IProgress<OutputLine>? output, CancellationToken cancellationToken) =>
        request.Operation switch
        {
            RunOperation run => RunAsync(request, run, output, cancellationToken),
            CopyOperation copy => CopyAsync(request, copy, cancellationToken),
            WorkdirOperation workdir => WorkdirAsync(request, workdir, cancellationToken),
            _ => throw new ArgumentException($"unknown step operation {request.Operation.GetType().Name}"),
        };

    private async Task<StepResult> RunAsync(StepRequest request, RunOperation op, IProgress<OutputLine>? output, CancellationToken cancellationToken)
    {
        await using var snapshot = await snapshotter.PrepareAsync(request.Parents, cancellationToken);
        var rootfs = snapshot.RootPath;
        ResolvedUser user;
        try
        {
            user = UserResolver.Resolve(rootfs, request.User);
        }
        catch (UserNotFoundException e)
        {
            // BuildKit's executor resolves the USER as it starts the process, and fails that process by its name.
            var argv = op.ExecForm ? op.Command : [.. op.Shell, string.Join(' ', op.Command)];
            throw new UserNotFoundException($"process \"{string.Join(' ', argv)}\" did not complete successfully: {e.Message}");
        }
        Directory.CreateDirectory(_scratch);
        var aux = ScratchDirectory.Create(_scratch, "run-");
        var cleanups = new List<IAsyncDisposable>();
        try
        {
            var env = new List<string>(request.Env);
            if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal))) env.Add(DefaultPath);
            if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) env.Add($"HOME={user.Home ?? "/"}");

            var workdir = "/" + request.WorkingDirectory.Trim('/');
            // A WORKDIR step made it; a base image's WorkingDir may still be missing (BuildKit makes the cwd too).
            MakeDirectories(rootfs, workdir, user);

            var mounts = new List<ContainerMount>();
            // BuildKit's hosts file, then the build's --add-host entries ("IP\tHOST", as its executor writes them)
            await File.WriteAllTextAsync(Path.Combine(aux, "hosts"),
                "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                + string.Concat(op.ExtraHosts.Select(h => $"{h.Value}\t{h.Key}\n")), cancellationToken);
            var resolv = op.Network == NetworkMode.Host && File.Exists("/etc/resolv.conf")
                ? await File.ReadAllTextAsync("/etc/resolv.conf", cancellationToken)
                : "";
            await File.WriteAllTextAsync(Path.Combine(aux, "resolv.conf"), resolv, cancellationToken);
            mounts.Add(new ContainerMount("/etc/hosts", "bind", Path.Combine(aux, "hosts"), ["rbind", "ro"]));
            mounts.Add(new ContainerMount("/etc/resolv.conf", "bind", Path.Combine(aux, "resolv.conf"), ["rbind", "ro"]));
            // Writes to an existing /tmp land in the layer as with docker build; an image without /tmp still gets one.
            if (ExistsIn(rootfs, "/tmp") is false)
                mounts.Add(new ContainerMount("/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777"]));

            var args = await CommandAsync(op, aux, mounts, cancellationToken);
            var sshIndex = 0;
            foreach (var mount in op.Mounts)
            {
                if (mount.Type == RunMountType.Ssh)
                    await AddSshMountAsync(request, mount, sshIndex++, aux, mounts, env, cleanups);
                else
                    await AddRunMountAsync(request, mount, aux, mounts, env, cleanups, cancellationToken);
            }

            var stubs = new MountStubs(rootfs, ["/proc", "/dev", "/sys", .. mounts.Select(m => m.Destination)]);
            var lines = new LastLines(output, options.LastOutputLines);
            var spec = new ContainerSpec
            {
                Rootfs = rootfs, Args = args, Env = env, WorkingDirectory = workdir, User = user,
                HostNetwork = op.Network == NetworkMode.Host, Mounts = mounts, Privileged = op.Insecure, Limits = request.Limits,
                ShmSize = op.ShmSize, Rlimits = op.Rlimits,
            };
            var exitCode = await executor.RunAsync(spec, lines, cancellationToken);
            if (exitCode != 0) return new StepResult(null, null, exitCode, lines.Snapshot());
            await snapshotter.SealAsync(snapshot, cancellationToken);
            stubs.Remove(snapshot.UpperPath!);
            var (layer, diffId) = await FinishAsync(snapshot, request, cancellationToken);
            return new StepResult(layer, diffId, 0, lines.Snapshot());
        }
        finally
        {
            for (var i = cleanups.Count - 1; i >= 0; i--) await cleanups[i].DisposeAsync();
            TreeRemover.Remove(aux);
        }
    }

    private static bool ExistsIn(string rootfs, string path) =>
        Native.LinuxNative.LStat(RootedPath.ResolveScoped(rootfs, path)) is not null;

    /// <summary>The argv: exec form as is; shell form through SHELL; a command that is only a heredoc runs as a
    /// script file (BuildKit mounts it at /dev/pipes/NAME; a #! line makes it run directly).</summary>
    private static async Task<IReadOnlyList<string>> CommandAsync(RunOperation op, string aux, List<ContainerMount> mounts, CancellationToken cancellationToken)
    {
        if (op.ExecForm) return op.Command;
        var line = string.Join(' ', op.Command);
        if (op.Heredocs.Count == 0) return [.. op.Shell, line];

        var first = op.Heredocs[0];
        var trimmed = line.Trim();
        var marker = trimmed.TrimStart('<').TrimStart('-').Trim('"', '\'');
        if (op.Heredocs.Count == 1 && trimmed.StartsWith("<<", StringComparison.Ordinal) && marker == first.Name)
        {
            var script = Path.Combine(aux, "heredoc-" + first.Name);
            await File.WriteAllTextAsync(script, first.Content, cancellationToken);
            Native.LinuxNative.ChmodOrThrow(script, 0b111_101_101);
            var target = "/dev/pipes/" + first.Name;
            mounts.Add(new ContainerMount(target, "bind", script, ["rbind", "ro"]));
            if (first.Content.StartsWith("#!", StringComparison.Ordinal)) return [target];
            var shell = op.Shell.Count > 1 && op.Shell[^1] == "-c" ? op.Shell.Take(op.Shell.Count - 1) : op.Shell;
            return [.. shell, target];
        }

        // Otherwise the shell itself reads the heredocs: hand it the command line followed by their bodies.
        var text = new System.Text.StringBuilder(line);
        foreach (var h in op.Heredocs)
        {
            text.Append('\n').Append(h.Content);
            if (!h.Content.EndsWith('\n')) text.Append('\n');
            text.Append(h.Name);
        }
        return [.. op.Shell, text.ToString()];
    }

    /// <summary>
    /// RUN --mount=type=ssh as BuildKit mounts it: a socket at the target (default /run/buildkit/ssh_agent.N, N counting
    /// the step's ssh mounts), owned uid:gid (default 0:0) with mode (default 0600), relaying to the build's agent; the
    /// first one is also SSH_AUTH_SOCK. An id the build did not forward fails when required, else the mount is skipped.
    /// </summary>
    private Task AddSshMountAsync(StepRequest request, RunMount mount, int index, string aux, List<ContainerMount> mounts,
        List<string> env, List<IAsyncDisposable> cleanups)
    {
        var id = mount.Id ?? "default";
        if (AgentOf(request, id) is not { } connect)
        {
            if (mount.Required)
                throw new SecretNotFoundException($"no SSH key \"{id}\" forwarded from the client: RUN --mount=type=ssh,id={id},required needs --ssh {id}");
            return Task.CompletedTask;
        }
        var target = mount.Target ?? $"/run/buildkit/ssh_agent.{index}";
        var proxy = new UnixSocketProxy(Path.Combine(aux, $"ssh-{index}.sock"), connect, mount.Uid ?? 0, mount.Gid ?? 0, mount.Mode ?? 0b110_000_000);
        cleanups.Add(proxy);
        mounts.Add(new ContainerMount(target, "bind", proxy.Path, ["rbind"]));
        if (index == 0 && !env.Any(e => e.StartsWith("SSH_AUTH_SOCK=", StringComparison.Ordinal)))
            env.Add("SSH_AUTH_SOCK=" + target);
        return Task.CompletedTask;
    }

    /// <summary>How this worker opens a connection to the build's agent <paramref name="id"/>: its socket when the agents
    /// are on this host, else through the node that holds them; null when the build forwarded no such agent.</summary>
    private Func<CancellationToken, Task<Stream>>? AgentOf(StepRequest request, string id)
    {
        if (!request.SshSockets.TryGetValue(id, out var socket)) return null;
        if (request.SshHost == options.HostIdentity)
            return cancellationToken => UnixSocketProxy.ConnectUnixAsync(socket, cancellationToken);
        if (request.SshLink is { } link)
            return cancellationToken => link.ConnectAsync(id, cancellationToken);
        throw new SecretNotFoundException($"ssh agent \"{id}\" is forwarded on host {request.SshHost}, and this worker runs on {options.HostIdentity} with no way to it (the build's coordinator sent no ssh provider)");
    }

    /// <summary>The agent socket git's ssh uses for <paramref name="git"/> (none for a remote not over ssh): the agent's
    /// own socket on this host, else a socket of this checkout (0600, root's) relaying to it, to dispose after the fetch.</summary>
    private (string? Socket, UnixSocketProxy? Relay) GitAgent(StepRequest request, GitCheckoutSource git, string checkout)
    {
        if (git.SshId.Length == 0) return (null, null);
        var connect = AgentOf(request, git.SshId)
                      ?? throw new CopyException($"{git.Source}: fetching a git repository over ssh needs an ssh agent: build with --ssh {git.SshId}");
        if (request.SshHost == options.HostIdentity) return (request.SshSockets[git.SshId], null);
        var relay = new UnixSocketProxy(Path.Combine(checkout, "agent.sock"), connect, 0, 0, 0b110_000_000);
        return (relay.Path, relay);
    }

    private async Task AddRunMountAsync(StepRequest request, RunMount mount, string aux, List<ContainerMount> mounts,
        List<string> env, List<IAsyncDisposable> cleanups, CancellationToken cancellationToken)
    {
        switch (mount.Type)
        {
            case RunMountType.Tmpfs:
            {
                var target = mount.Target ?? throw new ArgumentException("--mount=type=tmpfs needs a target");
                var opts = new List<string> { "nosuid", "nodev" };
                if (mount.Size is { } size) opts.Add($"size={size}");
                mounts.Add(new ContainerMount(target, "tmpfs", "tmpfs", opts));
                break;
            }
            case RunMountType.Cache:
            {
                var target = mount.Target ?? throw new ArgumentException("--mount=type=cache needs a target");
                string source;
                if (mount.From is { } from)
                {
                    var (seed, subpath) = CacheSeed(request, mount, from);
                    var lease = await caches.AcquireAsync(mount, seed, cancellationToken);
                    cleanups.Add(new DisposeAdapter(lease));
                    source = RootedPath.ResolveScoped(lease.Path, subpath);
                    if (!Directory.Exists(source))
                        throw new ArgumentException($"--mount=type=cache,from={from}: source {subpath} is not a directory in that stage");
                }
                else
                {
                    var lease = await caches.AcquireAsync(mount, null, cancellationToken);
                    cleanups.Add(new DisposeAdapter(lease));
                    source = lease.Path;
                }
                mounts.Add(new ContainerMount(target, "bind", source, mount.ReadOnly == true ? ["rbind", "ro"] : ["rbind"]));
                break;
            }
            case RunMountType.Secret:
            {
                // The planner resolved the id and the file target (BuildKit's rule); the worker takes them as given.
                var id = mount.Id ?? throw new ArgumentException("a secret mount reached the worker without an id (the planner resolves it)");
                if (!request.Secrets.TryGetValue(id, out var value))
                {
                    if (mount.Required) throw new SecretNotFoundException($"secret {id} is required by RUN --mount=type=secret but was not provided");
                    break;
                }
                if (mount.Env is { } variable) env.Add($"{variable}={System.Text.Encoding.UTF8.GetString(value)}");
                if (mount.Target is null)
                {
                    if (mount.Env is not null) break; // env only
                    throw new ArgumentException($"secret mount {id} reached the worker without a target (the planner resolves it)");
                }
                var secrets = Path.Combine(aux, "secrets");
                if (!Directory.Exists(secrets))
                {
                    var tmpfs = new TmpfsMount(secrets, "mode=0700,size=16m");
                    cleanups.Add(new DisposeAdapter(tmpfs));
                }
                var file = Path.Combine(secrets, Guid.NewGuid().ToString("N"));
                await File.WriteAllBytesAsync(file, value, cancellationToken);
                Native.LinuxNative.LchownOrThrow(file, mount.Uid ?? 0, mount.Gid ?? 0);
                Native.LinuxNative.ChmodOrThrow(file, mount.Mode ?? 0b100_000_000);
                mounts.Add(new ContainerMount(mount.Target, "bind", file, ["rbind", "ro"]));
                break;
            }
            case RunMountType.Bind:
            {
                var target = mount.Target ?? throw new ArgumentException("--mount=type=bind needs a target");
                string source;
                if (mount.From is { } from)
                {
                    var chain = request.Stages.TryGetValue(from, out var c) ? c
                        : throw new ArgumentException($"--mount from={from}: no such stage was given to the step");
                    var view = await snapshotter.ViewAsync(chain, cancellationToken);
                    cleanups.Add(view);
                    source = RootedPath.ResolveScoped(view.RootPath, mount.Source ?? "/");
                }
                else
                {
                    var context = await ContextDirectoryAsync(request, [mount.Source ?? "/"], cleanups, cancellationToken)
                                  ?? throw new ArgumentException("--mount=type=bind needs a build context");
                    source = RootedPath.ResolveStrict(context, mount.Source ?? "/");
                }
                if (Native.LinuxNative.LStat(source) is null)
                    throw new ArgumentException($"--mount=type=bind source {mount.Source ?? "/"} does not exist");
                if (mount.ReadOnly == false && Directory.Exists(source))
                {
                    // rw: the step may write, but the writes are thrown away (BuildKit semantics)
                    var overlay = new ScratchOverlay(source, _scratch);
                    cleanups.Add(new DisposeAdapter(overlay));
                    mounts.Add(new ContainerMount(target, "bind", overlay.Merged, ["rbind"]));
                }
                else
                {
                    mounts.Add(new ContainerMount(target, "bind", source, ["rbind", "ro"]));
                }
                break;
            }
        }
    }

    /// <summary>
    /// A cache mount with from=: BuildKit (convert_runmount.go, mounts.getRefCacheDir) makes the cache a mutable copy of
    /// the whole from= stage, keyed by id and that stage, and mounts its source= subpath; a cache that exists is reused
    /// as it is. uid/gid/mode count only at source=/: then the stage gets a directory /cache (mkdir: an existing one is
    /// kept as it is) and that is mounted. So mounts of one id and stage with different sources share one cache.
    /// </summary>
    private (CacheMountSeed Seed, string Subpath) CacheSeed(StepRequest request, RunMount mount, string from)
    {
        var chain = request.Stages.TryGetValue(from, out var c) ? c
            : throw new ArgumentException($"--mount from={from}: no such stage was given to the step");
        var source = "/" + FileCopier.Clean(mount.Source ?? "");
        var mkdir = source == "/" && (mount.Uid is not null || mount.Gid is not null || mount.Mode is not null);
        var (uid, gid, mode) = (mount.Uid ?? 0, mount.Gid ?? 0, mount.Mode ?? 0b111_101_101);
        // The stage's layers name its contents on every worker, as the cache key of its last step would.
        var identity = "stage " + string.Join(",", chain.Select(l => l.DiffId.ToString()));
        if (mkdir) identity += $"; mkdir /cache {Convert.ToString(mode, 8)} {uid}:{gid}";
        var seed = new CacheMountSeed(identity, async (directory, ct) =>
        {
            await using var view = await snapshotter.ViewAsync(chain, ct);
            await copier.CopyAsync(new CopySpec
            {
                SourceRoot = view.RootPath, SourceIsContext = false, Sources = ["/"], DestinationRoot = directory, Destination = "/",
            }, ct);
            if (Native.LinuxNative.LStat(view.RootPath) is { } root)
            {
                Native.LinuxNative.LchownOrThrow(directory, root.Uid, root.Gid);
                Native.LinuxNative.ChmodOrThrow(directory, root.Mode & 0xFFF);
            }
            var cache = Path.Combine(directory, "cache");
            if (mkdir && Native.LinuxNative.LStat(cache) is null)
            {
                Directory.CreateDirectory(cache);
                Native.LinuxNative.LchownOrThrow(cache, uid, gid);
                Native.LinuxNative.ChmodOrThrow(cache, mode);
            }
        });
        return (seed, mkdir ? "/cache" : source);
    }

    private async Task<StepResult> CopyAsync(StepRequest request, CopyOperation op, CancellationToken cancellationToken)
    {
        if (op.Sources.Count + op.Heredocs.Count > 1 && !op.Destination.EndsWith('/'))
            throw new CopyException($"When using COPY with more than one source file, the destination must be a directory and end with a / (destination {op.Destination})");
        var cleanups = new List<IAsyncDisposable>();
        try
        {
            // --link: the layer is built on an empty tree, independent of the parent
            var snapshot = await snapshotter.PrepareAsync(op.Link ? [] : request.Parents, cancellationToken);
            cleanups.Add(snapshot);

            (int, int)? owner = null;
            if (op.Chown is { } chown)
            {
                var passwdRoot = snapshot.RootPath;
                if (op.Link && !int.TryParse(chown.Split(':')[0], out _) && request.Parents.Count > 0)
                {
                    var parentView = await snapshotter.ViewAsync(request.Parents, cancellationToken);
                    cleanups.Add(parentView);
                    passwdRoot = parentView.RootPath;
                }
                owner = UserResolver.ResolveOwner(passwdRoot, chown);
            }
            var mode = op.Chmod is { } chmod ? ChmodSpec.Parse(chmod) : null;

            var destination = op.Destination.StartsWith('/')
                ? op.Destination
                : "/" + request.WorkingDirectory.Trim('/') + "/" + op.Destination;
            // "." and ".." name directories even without a trailing slash
            if (destination.EndsWith("/.", StringComparison.Ordinal) || destination.EndsWith("/..", StringComparison.Ordinal)) destination += "/";

            var add = op as AddOperation;
            var gitSources = add?.GitSources ?? [];
            var gitTexts = gitSources.Select(g => g.Source).ToHashSet(StringComparer.Ordinal);
            var urlSources = add is null ? [] : op.Sources.Where(s => IsUrl(s) && !gitTexts.Contains(s)).ToList();
            var localSources = op.Sources.Where(s => add is null || (!IsUrl(s) && !gitTexts.Contains(s))).ToList();

            var copyWatch = System.Diagnostics.Stopwatch.StartNew();
            if (localSources.Count > 0)
            {
                string sourceRoot;
                bool isContext;
                if (op.From is { } from)
                {
                    var chain = request.Stages.TryGetValue(from, out var c) ? c
                        : throw new CopyException($"COPY --from={from}: no such stage was given to the step");
                    var view = await snapshotter.ViewAsync(chain, cancellationToken);
                    cleanups.Add(view);
                    (sourceRoot, isContext) = (view.RootPath, false);
                }
                else
                {
                    var context = await ContextDirectoryAsync(request, localSources, cleanups, cancellationToken)
                                  ?? throw new CopyException("COPY needs a build context");
                    (sourceRoot, isContext) = (context, true);
                }
                await copier.CopyAsync(new CopySpec
                {
                    SourceRoot = sourceRoot, SourceIsContext = isContext, Sources = localSources,
                    DestinationRoot = snapshot.RootPath, Destination = destination, Owner = owner, Mode = mode,
                    Excludes = op.Excludes, Parents = op.Parents, ExtractArchives = add is { Unpack: true } && op.From is null,
                }, cancellationToken);
            }

            foreach (var url in urlSources)
            {
                Directory.CreateDirectory(_scratch);
                var download = ScratchDirectory.Create(_scratch, "url-");
                try
                {
                    var checksum = add!.Checksum is { } sum ? Digest.Parse(sum) : (Digest?)null;
                    var file = await urls.FetchAsync(new Uri(url), download, checksum, cancellationToken);
                    await copier.CopyAsync(new CopySpec
                    {
                        SourceRoot = download, SourceIsContext = false, Sources = [Path.GetFileName(file)],
                        DestinationRoot = snapshot.RootPath, Destination = destination, Owner = owner ?? (0, 0), Mode = mode,
                    }, cancellationToken);
                }
                finally { TreeRemover.Remove(download); }
            }

            foreach (var git in gitSources)
            {
                Directory.CreateDirectory(_scratch);
                var checkout = ScratchDirectory.Create(_scratch, "git-");
                try
                {
                    // the repository's contents go into the destination, as COPY of a folder does; files are root's
                    var (agent, relay) = GitAgent(request, git, checkout);
                    string tree;
                    try
                    {
                        tree = await _git.CheckoutAsync(git, checkout, add!.KeepGitDir, agent, cancellationToken);
                    }
                    finally
                    {
                        if (relay is not null) await relay.DisposeAsync();
                    }
                    await copier.CopyAsync(new CopySpec
                    {
                        SourceRoot = tree, SourceIsContext = true, Sources = ["."],
                        DestinationRoot = snapshot.RootPath, Destination = destination.EndsWith('/') ? destination : destination + "/",
                        Owner = owner, Mode = mode, Excludes = op.Excludes,
                    }, cancellationToken);
                }
                finally { TreeRemover.Remove(checkout); }
            }

            if (op.Heredocs.Count > 0)
                await CopyHeredocsAsync(op.Heredocs, snapshot.RootPath, destination, owner, mode, cancellationToken);
            options.Trace?.WriteLine($"trace: copy files          {copyWatch.Elapsed.TotalMilliseconds,7:F1} ms");

            var (layer, diffId) = await FinishAsync(snapshot, request, cancellationToken);
            return new StepResult(layer, diffId, 0, []);
        }
        finally
        {
            for (var i = cleanups.Count - 1; i >= 0; i--) await cleanups[i].DisposeAsync();
        }
    }

    private async Task<StepResult> WorkdirAsync(StepRequest request, WorkdirOperation op, CancellationToken cancellationToken)
    {
        await using var snapshot = await snapshotter.PrepareAsync(request.Parents, cancellationToken);
        var user = UserResolver.Resolve(snapshot.RootPath, request.User); // an unknown USER fails here, as in BuildKit
        if (!MakeDirectories(snapshot.RootPath, "/" + op.Path.Trim('/'), user))
            return new StepResult(null, null, 0, []); // nothing to make: no layer (BuildKit's empty_layer)
        var (layer, diffId) = await FinishAsync(snapshot, request, cancellationToken);
        return new StepResult(layer, diffId, 0, []);
    }

    /// <summary>mkdir -p beneath the rootfs without following any symlink out of it, each missing component 0755 and
    /// owned by <paramref name="user"/>, as BuildKit's WORKDIR makes it (so a RUN as that user can write there).</summary>
    private static bool MakeDirectories(string rootfs, string path, ResolvedUser user)
    {
        var physical = RootedPath.ResolveScoped(rootfs, path);
        if (Directory.Exists(physical)) return false;
        using var confined = Oci.Native.ConfinedRoot.Open(rootfs);
        var done = "";
        foreach (var part in Path.GetRelativePath(rootfs, physical).Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            using (var parent = confined.OpenDirectory(done, create: false, path))
            {
                if (parent.Stat(part) is null)
                {
                    parent.CreateDirectory(part);
                    parent.SetOwner(part, user.Uid, user.Gid);
                    parent.SetMode(part, 0b111_101_101);
                }
            }
            done = done.Length == 0 ? part : done + "/" + part;
        }
        return true;
    }

    /// <summary>BuildKit's inline documents: each heredoc is made a 0644 file in a scratch tree (root-owned, as a
    /// context file), then copied like a context source so --chown, --chmod and the destination rules apply alike.
    /// Never unpacked, even by ADD.</summary>
    private async Task CopyHeredocsAsync(IReadOnlyList<Heredoc> heredocs, string destinationRoot, string destination,
        (int, int)? owner, ChmodSpec? mode, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_scratch);
        var documents = ScratchDirectory.Create(_scratch, "heredoc-");
        try
        {
            foreach (var heredoc in heredocs)
            {
                if (heredoc.Name is "" or "." or ".." || heredoc.Name.Contains('/'))
                    throw new CopyException($"heredoc <<{heredoc.Name}: its delimiter must be a plain file name");
                var file = Path.Combine(documents, heredoc.Name);
                await File.WriteAllTextAsync(file, heredoc.Content, Utf8NoBom, cancellationToken);
                Native.LinuxNative.ChmodOrThrow(file, 0b110_100_100); // 0644 whatever the umask
                await copier.CopyAsync(new CopySpec
                {
                    SourceRoot = documents, SourceIsContext = true, Sources = [heredoc.Name],
                    DestinationRoot = destinationRoot, Destination = destination, Owner = owner, Mode = mode,
                }, cancellationToken);
                File.Delete(file); // two heredocs may share a delimiter: the next one is written fresh
            }
        }
        finally { TreeRemover.Remove(documents); }
    }

    private static readonly System.Text.UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>The context folder on this worker: the local one, or the request's context source resolved for
    /// <paramref name="sources"/> (leased until the step's cleanups run).</summary>
    private static async Task<string?> ContextDirectoryAsync(StepRequest request, IReadOnlyList<string> sources,
        List<IAsyncDisposable> cleanups, CancellationToken cancellationToken)
    {
        if (request.ContextDirectory is { } local) return local;
        if (request.Context is null) return null;
        var lease = await request.Context.AcquireAsync(sources, cancellationToken);
        cleanups.Add(lease);
        return lease.Directory;
    }

    private async Task<(Descriptor, Digest)> FinishAsync(ActiveSnapshot snapshot, StepRequest request, CancellationToken cancellationToken)
    {
        // BUILDFARM_TRACE=1: where a step's fixed cost after its operation goes (unmount, layer tar + compression, commit)
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await snapshotter.SealAsync(snapshot, cancellationToken);
        var sealedAt = watch.Elapsed;
        var layer = await differ.DiffAsync(snapshot.UpperPath!, request.Compression, request.SourceDateEpoch, cancellationToken);
        var diffedAt = watch.Elapsed;
        await snapshotter.CommitAsync(snapshot, new LayerRef(layer.Descriptor, layer.DiffId), cancellationToken, layer.RegularFileBytes);
        options.Trace?.WriteLine($"trace: layer seal (unmount) {sealedAt.TotalMilliseconds,7:F1} ms, diff+compress {(diffedAt - sealedAt).TotalMilliseconds,7:F1} ms"
            + $" ({layer.UncompressedSize / 1048576.0:F1} MB tar, {layer.Descriptor.Size / 1048576.0:F1} MB blob), commit {(watch.Elapsed - diffedAt).TotalMilliseconds,7:F1} ms");
        return (layer.Descriptor, layer.DiffId);
    }

    private static bool IsUrl(string source) =>
        source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private sealed class DisposeAdapter(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
