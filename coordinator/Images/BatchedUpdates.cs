namespace BuildFarm.Coordinator.Images;

/// <summary>
/// Group commit for a file that many callers change at once: a caller's change joins the pending batch; one writer at a
/// time applies a whole batch (one lock, one read, one write) and completes its callers; changes that arrive while it
/// writes form the next batch. So N builds naming their images at the same moment cost two writes, not N queued ones.
/// A caller that cancels before its batch is written is dropped from it (its change is not applied).
/// </summary>
public sealed class BatchedUpdates<TState>(Func<IReadOnlyList<Action<TState>>, Task> write)
{
    private sealed record Pending(Action<TState> Change, CancellationToken Cancellation)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Lock _gate = new();
    private List<Pending> _pending = [];
    private bool _writing;

    public Task ApplyAsync(Action<TState> change, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new Pending(change, cancellationToken);
        bool lead;
        lock (_gate)
        {
            _pending.Add(pending);
            lead = !_writing;
            _writing = true;
        }
        // The first caller writes (on the thread pool: callers never run another's write inline) until nothing is pending.
        if (lead) _ = Task.Run(WriteBatchesAsync, CancellationToken.None);
        return pending.Done.Task;
    }

    private async Task WriteBatchesAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _writing = false;
                    return;
                }
                batch = _pending;
                _pending = [];
            }
            var kept = new List<Pending>(batch.Count);
            foreach (var p in batch)
            {
                if (p.Cancellation.IsCancellationRequested) p.Done.TrySetCanceled(p.Cancellation);
                else kept.Add(p);
            }
            if (kept.Count == 0) continue;
            try
            {
                await write([.. kept.Select(p => p.Change)]);
                foreach (var p in kept) p.Done.TrySetResult();
            }
            catch (Exception e)
            {
                // Every caller of the batch hears the failure (the file is unchanged: it is replaced atomically or not at all).
                foreach (var p in kept) p.Done.TrySetException(e);
            }
        }
    }
}
