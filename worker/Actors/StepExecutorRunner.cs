using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Execution;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Steps;
using ProtoLayer = BuildFarm.Protos.Cluster.LayerRef;
using SnapshotLayer = BuildFarm.Worker.Snapshots.LayerRef;

namespace BuildFarm.Worker.Actors;

/// <summary>Runs a step's protobuf spec on the worker's <see cref="StepExecutor"/>; tracks runs so a host can
/// wait for their cleanup (containers, mounts) before it exits.</summary>
public sealed class StepExecutorRunner(StepExecutor executor) : IStepRunner
{
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _inFlight = [];

    public async Task<Protos.Cluster.StepResult> RunAsync(StepSpec spec, IStepOutput output, CancellationToken cancellationToken)
    {
        var request = ToRequest(spec);
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
                throw new StepRunFailedException($"process \"{string.Join(' ', ArgvOf(spec))}\" could not start: {e.Message}", 0, e);
            }
            if (result.ExitCode != 0 || result.Layer is null)
                throw new StepRunFailedException(
                    $"process \"{string.Join(' ', ArgvOf(spec))}\" did not complete successfully: exit code: {result.ExitCode}",
                    result.ExitCode);
            return new Protos.Cluster.StepResult
            {
                CacheKey = spec.CacheKey,
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

    private static IEnumerable<string> ArgvOf(StepSpec spec) =>
        spec.ExecForm ? spec.Args : [.. spec.Shell.DefaultIfEmpty("/bin/sh").Concat(spec.Shell.Count == 0 ? ["-c"] : []), string.Join(' ', spec.Args)];

    public static StepRequest ToRequest(StepSpec spec) => new()
    {
        Parents = [.. spec.ParentLayers.Select(ToLayer)],
        Operation = ToOperation(spec),
        ContextDirectory = spec.Context?.LocalDir is { Length: > 0 } dir ? dir : null,
        Stages = spec.Stages.ToDictionary(s => s.Name, s => (IReadOnlyList<SnapshotLayer>)[.. s.Layers.Select(ToLayer)]),
        Secrets = spec.Secrets.ToDictionary(s => s.Id, s => s.Value.ToByteArray()),
        Env = [.. spec.Env],
        User = spec.User is { Length: > 0 } user ? user : null,
        WorkingDirectory = spec.WorkingDir is { Length: > 0 } wd ? wd : "/",
        SourceDateEpoch = long.TryParse(spec.SourceDateEpoch, out var epoch) ? DateTimeOffset.FromUnixTimeSeconds(epoch) : null,
    };

    private static SnapshotLayer ToLayer(ProtoLayer layer) =>
        new(new Descriptor { MediaType = layer.MediaType, Digest = layer.Digest, Size = layer.Size }, Digest.Parse(layer.DiffId));

    private static StepOperation ToOperation(StepSpec spec) => spec.Kind switch
    {
        "RUN" => new RunOperation
        {
            Command = [.. spec.Args],
            ExecForm = spec.ExecForm,
            Shell = spec.Shell.Count > 0 ? [.. spec.Shell] : ["/bin/sh", "-c"],
            Heredocs = [.. spec.Heredocs.Select(h => new Steps.Heredoc(h.Name, h.Content))],
            Mounts = [.. spec.Mounts.Select(ToMount)],
            Network = spec.Network == "host" ? NetworkMode.Host : NetworkMode.None,
        },
        "COPY" => ToCopy(spec),
        "ADD" => new AddOperation(ToCopy(spec))
        {
            Checksum = spec.Checksum is { Length: > 0 } checksum ? checksum : null,
            Unpack = spec.Unpack,
        },
        _ => throw new StepRunFailedException($"a worker cannot execute a {spec.Kind} step"),
    };

    private static CopyOperation ToCopy(StepSpec spec) => new()
    {
        Sources = [.. spec.Sources],
        Destination = spec.Destination,
        From = spec.From is { Length: > 0 } from ? from : null,
        Chown = spec.Chown is { Length: > 0 } chown ? chown : null,
        Chmod = spec.Chmod is { Length: > 0 } chmod ? chmod : null,
        Excludes = [.. spec.Excludes],
        Link = spec.Link,
        Parents = spec.Parents,
    };

    private static RunMount ToMount(RunMountSpec m) => new()
    {
        Type = m.Type switch
        {
            "cache" => RunMountType.Cache,
            "tmpfs" => RunMountType.Tmpfs,
            "secret" => RunMountType.Secret,
            _ => RunMountType.Bind,
        },
        Target = m.Target is { Length: > 0 } target ? target : null,
        Id = m.Id is { Length: > 0 } id ? id : null,
        From = m.From is { Length: > 0 } from ? from : null,
        Source = m.Source is { Length: > 0 } source ? source : null,
        ReadOnly = m.HasReadOnly ? m.ReadOnly : null,
        Sharing = m.Sharing switch { "private" => CacheSharing.Private, "locked" => CacheSharing.Locked, _ => CacheSharing.Shared },
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
