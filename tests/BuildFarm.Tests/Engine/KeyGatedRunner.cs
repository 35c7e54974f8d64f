using System.Collections.Concurrent;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;

namespace BuildFarm.Tests.Engine;

/// <summary>A step runner whose runs each wait until their key is released (or they are canceled); counts the runs it
/// started and the most it ran at once, and reports a local cache the test sets.</summary>
public sealed class KeyGatedRunner : IStepRunner
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private int _running;
    private int _started;
    private int _mostAtOnce;

    public int Started => Volatile.Read(ref _started);
    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);
    public LocalCacheUsage Cache { get; set; } = LocalCacheUsage.None;
    public ConcurrentBag<string> Canceled { get; } = [];

    public void Release(string key) => Gate(key).TrySetResult();

    private TaskCompletionSource Gate(string key) =>
        _gates.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        IStepOutput output, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _started);
        var now = Interlocked.Increment(ref _running);
        for (var most = MostAtOnce; now > most; most = MostAtOnce)
            Interlocked.CompareExchange(ref _mostAtOnce, now, most);
        try
        {
            await Gate(definition.CacheKey).Task.WaitAsync(cancellationToken);
            return new StepResult { CacheKey = definition.CacheKey, EmptyLayer = true };
        }
        catch (OperationCanceledException)
        {
            Canceled.Add(definition.CacheKey);
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public LocalCacheUsage LocalCache(int maxLayers) => Cache with { Layers = [.. Cache.Layers.Take(maxLayers)] };
}
