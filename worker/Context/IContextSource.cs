namespace BuildFarm.Worker.Context;

/// <summary>Where a step's build context comes from: a folder on this machine, or a manifest in the content store
/// that this worker materializes. Resolved just before COPY/ADD or RUN --mount=type=bind reads it.</summary>
public interface IContextSource
{
    /// <summary>A folder holding at least the entries <paramref name="sources"/> (COPY source paths or globs,
    /// relative to the context) select, or the whole context when null.</summary>
    Task<ContextLease> AcquireAsync(IReadOnlyList<string>? sources, CancellationToken cancellationToken);
}
