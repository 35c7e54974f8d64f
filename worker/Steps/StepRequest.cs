using BuildFarm.Oci.Layers;
using BuildFarm.Worker.Context;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Steps;

/// <summary>One step for a worker: the parent filesystem, the operation and what it may read.</summary>
public sealed record StepRequest
{
    /// <summary>The parent's layers, bottom first (empty for FROM scratch).</summary>
    public required IReadOnlyList<LayerRef> Parents { get; init; }
    public required StepOperation Operation { get; init; }
    /// <summary>The build context on this worker's disk (COPY/ADD sources, RUN --mount=type=bind).</summary>
    public string? ContextDirectory { get; init; }
    /// <summary>Where the build context comes from when it is not on this worker's disk (<see cref="ContextDirectory"/>
    /// null): e.g. a manifest in the content store, materialized just before COPY/ADD or a bind mount reads it.</summary>
    public IContextSource? Context { get; init; }
    /// <summary>Other stages' filesystems by name, for COPY --from and RUN --mount from=.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<LayerRef>> Stages { get; init; } = new Dictionary<string, IReadOnlyList<LayerRef>>();
    /// <summary>Secret values by id; never written to a layer.</summary>
    public IReadOnlyDictionary<string, byte[]> Secrets { get; init; } = new Dictionary<string, byte[]>();
    /// <summary>RUN --mount=type=ssh: the build's agent sockets by ssh id, paths on host <see cref="SshHost"/>.</summary>
    public IReadOnlyDictionary<string, string> SshSockets { get; init; } = new Dictionary<string, string>();
    /// <summary>Where <see cref="SshSockets"/> are (Protos.HostIdentity); another host cannot open them directly.</summary>
    public string SshHost { get; init; } = "";
    /// <summary>On a worker of another host than <see cref="SshHost"/>: the way to the build's agents through the node
    /// that holds them (null: none, and an ssh mount there fails naming the hosts).</summary>
    public ISshAgentLink? SshLink { get; init; }
    /// <summary>The stage's environment ("KEY=value"), build args included.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];
    /// <summary>USER (name, uid, name:group, uid:gid); empty means root.</summary>
    public string? User { get; init; }
    public string WorkingDirectory { get; init; } = "/";
    public LayerCompression Compression { get; init; } = LayerCompression.Gzip;
    /// <summary>The cgroup limits the step's build asks for (RUN only); the worker clamps them to its own. Not part of the
    /// cache key: a deduped step runs with the limits of the build whose inputs the run uses.</summary>
    public Execution.ContainerLimits? Limits { get; init; }
    /// <summary>SOURCE_DATE_EPOCH: timestamps newer than it are clamped, making layers reproducible.</summary>
    public DateTimeOffset? SourceDateEpoch { get; init; }
}
