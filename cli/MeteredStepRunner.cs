using BuildFarm.Coordinator.Telemetry;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;

namespace BuildFarm.Cli;

/// <summary>The worker's step runner, counting executions in flight (its busy slots) and executions that succeeded.</summary>
public sealed class MeteredStepRunner(IStepRunner inner, FarmMetrics metrics) : IStepRunner
{
    public Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        IStepOutput output, CancellationToken cancellationToken) =>
        RunAsync(definition, inputs, secrets, null, output, cancellationToken);

    public async Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
        Worker.Steps.ISshAgentLink? ssh, IStepOutput output, CancellationToken cancellationToken)
    {
        metrics.ExecutionStarted();
        try
        {
            var result = await inner.RunAsync(definition, inputs, secrets, ssh, output, cancellationToken);
            metrics.StepExecuted(inputs.Team);
            return result;
        }
        finally
        {
            metrics.ExecutionEnded();
        }
    }

    public LocalCacheUsage LocalCache(int maxLayers) => inner.LocalCache(maxLayers);
}
