using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Runs every step on the real runner and records how many ran at once on this worker at most.</summary>
public sealed class ConcurrencyRecordingRunner(IStepRunner inner) : IStepRunner
{
    private int _running;
    private int _mostAtOnce;
    private int _runs;

    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);
    public int Runs => Volatile.Read(ref _runs);

    public async Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        IStepOutput output, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        var now = Interlocked.Increment(ref _running);
        for (var most = MostAtOnce; now > most; most = MostAtOnce)
            Interlocked.CompareExchange(ref _mostAtOnce, now, most);
        try
        {
            return await inner.RunAsync(definition, inputs, secrets, output, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public LocalCacheUsage LocalCache(int maxLayers) => inner.LocalCache(maxLayers);
}
