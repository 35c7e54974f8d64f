namespace BuildFarm.Worker.Context;

/// <summary>A context already on this machine's disk (embedded builds: the coordinator's folder is the worker's).</summary>
public sealed class LocalContextSource(string directory) : IContextSource
{
    public Task<ContextLease> AcquireAsync(IReadOnlyList<string>? sources, CancellationToken cancellationToken) =>
        Task.FromResult(new ContextLease(directory));
}
