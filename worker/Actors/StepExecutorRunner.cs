using BuildFarm.Oci;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Context;
using BuildFarm.Worker.Execution;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Steps;
using ProtoLayer = BuildFarm.Protos.Cluster.LayerRef;
using SnapshotLayer = BuildFarm.Worker.Snapshots.LayerRef;

namespace BuildFarm.Worker.Actors;

/// <summary>Runs a step's protobuf spec on the worker's <see cref="StepExecutor"/>; tracks runs so a host can
/// wait for their cleanup (containers, mounts) before it exits. A context given by manifest digest is materialized by
/// <paramref name="contexts"/> (the worker's own, reading blobs through its local cache); without one, this worker can
/// only run steps whose context is a folder on its disk (the embedded single process).</summary>
public sealed class StepExecutorRunner(StepExecutor executor, ContextMaterializer? contexts = null) : IStepRunner
{
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _inFlight = [];
    // Materialized contexts have no running total: their folder is scanned in the background, at most once per interval.
    private static readonly TimeSpan ScanInterval = TimeSpan.FromSeconds(10);
    private long _contextBytes;
    private long _scannedAtMs = long.MinValue / 2;
    private int _scanning;

    public LocalCacheUsage LocalCache(int maxLayers)
    {
        ScanContextsWhenStale();
        var layers = executor.LocalLayers().Take(maxLayers).Select(d => d.ToString()).ToList();
        return new LocalCacheUsage(executor.LocalBytes + Interlocked.Read(ref _contextBytes), layers);
    }

    private void ScanContextsWhenStale()
    {
        if (contexts is null) return;
        if (Environment.TickCount64 - Interlocked.Read(ref _scannedAtMs) < (long)ScanInterval.TotalMilliseconds) return;
        if (Interlocked.Exchange(ref _scanning, 1) == 1) return;
        _ = Task.Run(() =>
        {
            try
            {
                Interlocked.Exchange(ref _contextBytes, contexts.SizeOnDisk());
            }
            catch (IOException) { } // a folder changed under the scan: the next one counts it
            catch (UnauthorizedAccessException) { }
            finally
            {
                Interlocked.Exchange(ref _scannedAtMs, Environment.TickCount64);
                Volatile.Write(ref _scanning, 0);
            }
        }, CancellationToken.None);
    }

    public Task<Protos.Cluster.StepResult> RunAsync(StepDefinition definition, StepInputs inputs,
        IReadOnlyDictionary<string, byte[]> secrets, IStepOutput output, CancellationToken cancellationToken) =>
        RunAsync(definition, inputs, secrets, null, output, cancellationToken);

    public async Task<Protos.Cluster.StepResult> RunAsync(StepDefinition definition, StepInputs inputs,
        IReadOnlyDictionary<string, byte[]> secrets, ISshAgentLink? ssh, IStepOutput output, CancellationToken cancellationToken)
    {
        var request = ToRequest(definition, inputs, secrets, contexts) with { SshLink = ssh };
        var progress = new OutputForwarder(output);
        var run = executor.ExecuteAsync(request, progress, cancellationToken);
        lock (_gate) _inFlight.Add(run);
        try
        {
            Steps.StepResult result;
            try
            {
                result = await run;
            }
            catch (Exception e) when (e is CopyException or UnsafeSymlinkException or SecretNotFoundException
                                          or UserNotFoundException or ArgumentException)
            {
                throw new StepRunFailedException(e.Message, 0, e);
            }
            catch (ContainerStartException e) // no exit code of the command: runc could not start it (missing binary, ...)
            {
                throw new StepRunFailedException($"process \"{string.Join(' ', ArgvOf(definition))}\" could not start: {e.Message}", 0, e);
            }
            // A WORKDIR that already exists changes no file: BuildKit leaves its history entry empty_layer.
            if (result.ExitCode == 0 && result.Layer is null && request.Operation is WorkdirOperation)
                return new Protos.Cluster.StepResult { CacheKey = definition.CacheKey, EmptyLayer = true };
            if (result.ExitCode != 0 || result.Layer is null)
                throw new StepRunFailedException(
                    $"process \"{string.Join(' ', ArgvOf(definition))}\" did not complete successfully: exit code: {result.ExitCode}",
                    result.ExitCode);
            var upload = executor.TakeUpload(result.Layer.Digest);
            return new Protos.Cluster.StepResult
            {
                CacheKey = definition.CacheKey,
                UploadStartedUnixMs = upload?.StartedUnixMs ?? 0,
                UploadCompletedUnixMs = upload?.CompletedUnixMs ?? 0,
                Layer = new ProtoLayer
                {
                    Digest = result.Layer.Digest,
                    Size = result.Layer.Size,
                    MediaType = result.Layer.MediaType,
                    DiffId = result.DiffId?.ToString() ?? "",
                },
            };
        }
        finally
        {
            lock (_gate) _inFlight.Remove(run);
        }
    }

    /// <summary>Waits until every started step has unwound (after cancellation: container killed, mounts gone).</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Task[] running;
        lock (_gate) running = [.. _inFlight];
        if (running.Length == 0) return;
        await Task.WhenAny(Task.WhenAll(running.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))), Task.Delay(timeout));
    }

    private static IEnumerable<string> ArgvOf(StepDefinition definition)
    {
        if (definition.Run is not { } run) return [];
        return run.ExecForm ? run.Args : [.. run.Shell.DefaultIfEmpty("/bin/sh").Concat(run.Shell.Count == 0 ? ["-c"] : []), string.Join(' ', run.Args)];
    }

    public static StepRequest ToRequest(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        ContextMaterializer? contexts = null) => new()
    {
        Parents = [.. inputs.ParentLayers.Select(ToLayer)],
        Operation = ToOperation(definition),
        ContextDirectory = inputs.Context?.SourceCase == ContextRef.SourceOneofCase.LocalDir ? inputs.Context.LocalDir : null,
        Context = StoredContextOf(inputs.Context, contexts),
        Stages = inputs.Stages.ToDictionary(s => s.Name, s => (IReadOnlyList<SnapshotLayer>)[.. s.Layers.Select(ToLayer)]),
        Secrets = secrets,
        SshSockets = inputs.SshSockets.ToDictionary(),
        SshHost = inputs.SshHost,
        Env = definition.Run is { } run ? [.. run.Env] : [],
        User = definition.User is { Length: > 0 } user ? user : null,
        WorkingDirectory = definition.WorkingDir is { Length: > 0 } wd ? wd : "/",
        SourceDateEpoch = long.TryParse(definition.SourceDateEpoch, out var epoch) ? DateTimeOffset.FromUnixTimeSeconds(epoch) : null,
        Limits = RunLimitsMessage.ToAsked(inputs.RunLimits),
    };

    // Resolved lazily by the executor: a step that reads no context never fetches it.
    private static StoredContextSource? StoredContextOf(ContextRef? context, ContextMaterializer? contexts)
    {
        if (context?.SourceCase != ContextRef.SourceOneofCase.ManifestDigest) return null;
        if (contexts is null)
            throw new ClassifiedException(ErrorClass.Internal,
                $"this worker has no context materializer: it cannot read the build context {context.ManifestDigest} from the store");
        if (!Digest.TryParse(context.ManifestDigest, out var digest))
            throw new ClassifiedException(ErrorClass.Internal, $"the step's context manifest digest '{context.ManifestDigest}' is not a digest");
        return new StoredContextSource(contexts, digest);
    }

    private static SnapshotLayer ToLayer(ProtoLayer layer) =>
        new(new Descriptor { MediaType = layer.MediaType, Digest = layer.Digest, Size = layer.Size }, Digest.Parse(layer.DiffId));

    private static StepOperation ToOperation(StepDefinition definition) => definition.OpCase switch
    {
        StepDefinition.OpOneofCase.Run => new RunOperation
        {
            Command = [.. definition.Run.Args],
            ExecForm = definition.Run.ExecForm,
            Shell = definition.Run.Shell.Count > 0 ? [.. definition.Run.Shell] : ["/bin/sh", "-c"],
            Heredocs = [.. definition.Run.Heredocs.Select(h => new Steps.Heredoc(h.Name, h.Content))],
            Mounts = [.. definition.Run.Mounts.Select(ToMount)],
            Network = definition.Run.Network == Protos.Cluster.NetworkMode.NetworkHost ? Steps.NetworkMode.Host : Steps.NetworkMode.None,
            Insecure = definition.Run.Insecure,
            ExtraHosts = [.. definition.Run.ExtraHosts.Select(h => new KeyValuePair<string, string>(h.Host, h.Ip))],
            ShmSize = definition.Run.ShmSize,
            Rlimits = [.. definition.Run.Ulimits.Select(u => Execution.ContainerRlimit.FromUlimit(u.Name, u.Soft, u.Hard))],
        },
        StepDefinition.OpOneofCase.Copy => ToCopy(definition.Copy),
        StepDefinition.OpOneofCase.Workdir => new WorkdirOperation { Path = definition.Workdir.Path },
        StepDefinition.OpOneofCase.Add => new AddOperation(ToCopy(definition.Add.Copy ?? new CopyOp()))
        {
            Checksum = definition.Add.Checksum is { Length: > 0 } checksum ? checksum : null,
            Unpack = definition.Add.Unpack,
            GitSources = [.. definition.Add.Git.Select(g => new GitCheckoutSource(g.Source, g.Remote, g.Ref, g.Subdir, g.Commit)
                { SshId = g.SshId, KnownHosts = g.KnownHosts })],
            KeepGitDir = definition.Add.KeepGitDir,
        },
        _ => throw new ClassifiedException(ErrorClass.Internal, $"step {definition.CacheKey} has no operation a worker can execute"),
    };

    private static CopyOperation ToCopy(CopyOp copy) => new()
    {
        Sources = [.. copy.Sources],
        Destination = copy.Destination,
        From = copy.From is { Length: > 0 } from ? from : null,
        Chown = copy.Chown is { Length: > 0 } chown ? chown : null,
        Chmod = copy.Chmod is { Length: > 0 } chmod ? chmod : null,
        Excludes = [.. copy.Excludes],
        Link = copy.Link,
        Parents = copy.Parents,
        Heredocs = [.. copy.Heredocs.Select(h => new Steps.Heredoc(h.Name, h.Content))],
    };

    private static Steps.RunMount ToMount(Protos.Cluster.RunMount m) => new()
    {
        Type = m.Type switch
        {
            MountType.Cache => RunMountType.Cache,
            MountType.Tmpfs => RunMountType.Tmpfs,
            MountType.Secret => RunMountType.Secret,
            MountType.Bind => RunMountType.Bind,
            MountType.Ssh => RunMountType.Ssh,
            _ => throw new StepRunFailedException($"--mount=type={m.Type.ToString().ToLowerInvariant()} is not supported by this worker"),
        },
        Target = m.Target is { Length: > 0 } target ? target : null,
        Id = m.Id is { Length: > 0 } id ? id : null,
        From = m.From is { Length: > 0 } from ? from : null,
        Source = m.Source is { Length: > 0 } source ? source : null,
        ReadOnly = m.HasReadOnly ? m.ReadOnly : null,
        Sharing = m.Sharing switch
        {
            Protos.Cluster.CacheSharing.SharingPrivate => Steps.CacheSharing.Private,
            Protos.Cluster.CacheSharing.SharingLocked => Steps.CacheSharing.Locked,
            _ => Steps.CacheSharing.Shared,
        },
        Mode = m.HasMode ? m.Mode : null,
        Uid = m.HasUid ? m.Uid : null,
        Gid = m.HasGid ? m.Gid : null,
        Required = m.Required,
        Env = m.Env is { Length: > 0 } env ? env : null,
        Size = m.Size > 0 ? m.Size : null,
    };

    private sealed class OutputForwarder(IStepOutput output) : IProgress<OutputLine>
    {
        public void Report(OutputLine value) => output.Write((int)value.Stream, value.Text);
    }
}
