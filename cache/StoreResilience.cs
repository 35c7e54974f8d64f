using System.Diagnostics;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace BuildFarm.Cache;

/// <summary>Timeouts and retries (exponential backoff with jitter) around remote store calls. Two budgets: small
/// requests retry until <see cref="ContentStoreOptions.OperationTimeout"/>; blob transfers get
/// <see cref="ContentStoreOptions.TransferTimeout"/> per attempt and a bounded number of attempts. Either way a store
/// that stays unreachable ends in <see cref="ContentStoreUnavailableException"/> naming it, never a hang.
/// Once an operation has spent its whole budget on an unreachable store, the store is taken as down: later operations
/// make one bounded attempt (a probe) instead of a full budget each, so a build that needs the store several times in a
/// row ends within about one <see cref="ContentStoreOptions.OperationTimeout"/>, not one per call. Any answer from the
/// store takes it as up again.</summary>
public sealed class StoreResilience
{
    private readonly ResiliencePipeline _requests;
    private readonly ResiliencePipeline _transfers;
    private readonly ResiliencePipeline _probe;
    private readonly string _location;
    private volatile bool _down;
    // Canceled when an operation finds the store down, so that operations still retrying (or waiting out a backoff)
    // end then too; replaced by a fresh one when the store answers again.
    private CancellationTokenSource _outage = new();
    private long _downSince; // Stopwatch timestamp of the start of the operation that found the store down

    public StoreResilience(string location, ContentStoreOptions options)
    {
        _location = location;
        var retry = new RetryStrategyOptions
        {
            // Once another operation has spent its whole budget and found the store down, operations still retrying stop
            // at their next failure: a build fails one budget after the outage began, not one budget per call in flight.
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && TransientErrors.IsTransient(e) && !_down),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(5),
        };
        _requests = new ResiliencePipelineBuilder()
            .AddTimeout(options.OperationTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = retry.ShouldHandle, BackoffType = retry.BackoffType, UseJitter = true,
                Delay = retry.Delay, MaxDelay = retry.MaxDelay, MaxRetryAttempts = int.MaxValue,
            })
            .AddTimeout(options.RequestTimeout)
            .Build();
        _transfers = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = retry.ShouldHandle, BackoffType = retry.BackoffType, UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500), MaxDelay = retry.MaxDelay,
                MaxRetryAttempts = Math.Max(0, options.MaxTransferAttempts - 1),
            })
            .Build();
        _probe = new ResiliencePipelineBuilder().AddTimeout(options.RequestTimeout).Build();
    }

    /// <summary>True after an operation ran out of its budget, until the store answers again.</summary>
    public bool IsDown => _down;

    public Task<T> RequestAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(_down ? _probe : _requests, operation, call, cancellationToken);

    /// <summary>A blob transfer; each attempt must finish within <paramref name="deadline"/>.</summary>
    public Task<T> TransferAsync<T>(string operation, TimeSpan deadline, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(_down ? ResiliencePipeline.Empty : _transfers, operation, async token =>
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
            attempt.CancelAfter(deadline);
            try { return await call(attempt.Token); }
            catch (OperationCanceledException) when (attempt.IsCancellationRequested && !token.IsCancellationRequested)
            {
                throw new TimeoutRejectedException($"{operation} did not finish within {deadline.TotalSeconds:0.#} s");
            }
        }, cancellationToken);

    private async Task<T> RunAsync<T>(ResiliencePipeline pipeline, string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        Exception? last = null;
        // An operation that starts while the store is taken as down is a probe: nothing more to end it early.
        var outage = _down ? CancellationToken.None : _outage.Token;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, outage);
        try
        {
            return await pipeline.ExecuteAsync(async token =>
            {
                try
                {
                    var result = await call(token);
                    MarkUp();
                    return result;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    if (!(e is OperationCanceledException && outage.IsCancellationRequested)) last = e;
                    if (!TransientErrors.IsTransient(e)) MarkUp(); // the store answered (e.g. 404, a digest mismatch)
                    throw;
                }
            }, linked.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not ContentStoreAccessDeniedException
                                  && AccessErrors.RefusalCode(e) is { } code)
        {
            throw new ContentStoreAccessDeniedException(_location, operation, code, e);
        }
        catch (TimeoutRejectedException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(operation, started, last ?? e);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not ContentStoreUnavailableException && TransientErrors.IsTransient(e))
        {
            throw Unavailable(operation, started, e is OperationCanceledException ? last ?? e : e);
        }
    }

    private void MarkUp()
    {
        _down = false;
        var current = _outage;
        if (current.IsCancellationRequested)
            Interlocked.CompareExchange(ref _outage, new CancellationTokenSource(), current);
    }

    // The error names how long the store has been failing, counted from the first operation that found it down.
    private ContentStoreUnavailableException Unavailable(string operation, long started, Exception last)
    {
        if (!_down)
        {
            Interlocked.Exchange(ref _downSince, started);
            _down = true;
            _outage.Cancel();
        }
        var since = Math.Min(started, Interlocked.Read(ref _downSince));
        return new ContentStoreUnavailableException(_location, operation, Stopwatch.GetElapsedTime(since), last);
    }
}
