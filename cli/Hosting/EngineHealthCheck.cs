using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BuildFarm.Cli.Hosting;

/// <summary>The host's health as grpc.health.v1 reports it: SERVING only while the engine node is a member of the
/// cluster (NOT_SERVING while it joins, and again once it leaves or is removed).</summary>
public sealed class EngineHealthCheck : IHealthCheck
{
    private volatile bool _up;

    public void Up() => _up = true;
    public void Down() => _up = false;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_up ? HealthCheckResult.Healthy("engine up") : HealthCheckResult.Unhealthy("engine not in the cluster"));
}
