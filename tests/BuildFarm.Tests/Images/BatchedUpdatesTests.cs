using BuildFarm.Coordinator.Images;

namespace BuildFarm.Tests.Images;

public sealed class BatchedUpdatesTests
{
    [Fact]
    public async Task Changes_asked_while_a_write_runs_are_applied_together_by_the_next_write()
    {
        var state = new List<int>();
        var writes = new List<int>();
        var firstWriteHeld = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var updates = new BatchedUpdates<List<int>>(async changes =>
        {
            foreach (var change in changes) change(state);
            writes.Add(changes.Count);
            if (writes.Count == 1)
            {
                firstWriteHeld.SetResult();
                await releaseFirst.Task;
            }
        });

        var first = updates.ApplyAsync(s => s.Add(0), CancellationToken.None);
        await firstWriteHeld.Task;
        var others = Enumerable.Range(1, 7).Select(i => updates.ApplyAsync(s => s.Add(i), CancellationToken.None)).ToList();
        releaseFirst.SetResult();
        await Task.WhenAll([first, .. others]);

        Assert.Equal([1, 7], writes);
        Assert.Equal(Enumerable.Range(0, 8), state.Order());
    }

    [Fact]
    public async Task A_change_canceled_before_its_write_is_not_applied()
    {
        var state = new List<string>();
        var firstWriteHeld = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var updates = new BatchedUpdates<List<string>>(async changes =>
        {
            foreach (var change in changes) change(state);
            if (!firstWriteHeld.Task.IsCompleted)
            {
                firstWriteHeld.SetResult();
                await releaseFirst.Task;
            }
        });
        var first = updates.ApplyAsync(s => s.Add("first"), CancellationToken.None);
        await firstWriteHeld.Task;
        using var leaving = new CancellationTokenSource();
        var canceled = updates.ApplyAsync(s => s.Add("canceled"), leaving.Token);
        var kept = updates.ApplyAsync(s => s.Add("kept"), CancellationToken.None);

        leaving.Cancel();
        releaseFirst.SetResult();

        await first;
        await kept;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);
        Assert.Equal(["first", "kept"], state);
    }

    [Fact]
    public async Task A_failed_write_fails_every_caller_of_its_batch_and_the_next_batch_is_written()
    {
        var attempts = 0;
        var state = new List<int>();
        var updates = new BatchedUpdates<List<int>>(changes =>
        {
            if (++attempts == 1) throw new IOException("disk full");
            foreach (var change in changes) change(state);
            return Task.CompletedTask;
        });

        var failed = await Assert.ThrowsAsync<IOException>(() => updates.ApplyAsync(s => s.Add(1), CancellationToken.None));
        await updates.ApplyAsync(s => s.Add(2), CancellationToken.None);

        Assert.Equal("disk full", failed.Message);
        Assert.Equal([2], state);
    }
}
