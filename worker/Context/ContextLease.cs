namespace BuildFarm.Worker.Context;

/// <summary>A build context folder a step may read until the lease is disposed (a materialized one is not evicted
/// while leased).</summary>
public sealed class ContextLease(string directory, Action? release = null) : IAsyncDisposable
{
    private Action? _release = release;

    public string Directory { get; } = directory;

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _release, null)?.Invoke();
        return ValueTask.CompletedTask;
    }
}
