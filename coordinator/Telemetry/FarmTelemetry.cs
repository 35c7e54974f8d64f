using System.Diagnostics;

namespace BuildFarm.Coordinator.Telemetry;

/// <summary>
/// The metrics and the trace source of one host process. Exporters (Prometheus, OTLP) subscribe to them by name
/// (<see cref="FarmMetrics.MeterName"/>, <see cref="SourceName"/>); without exporters recording costs next to nothing.
/// </summary>
public sealed class FarmTelemetry : IDisposable
{
    public const string SourceName = "BuildFarm";

    public FarmMetrics Metrics { get; } = new();

    public ActivitySource Source { get; } = new(SourceName);

    public void Dispose()
    {
        Metrics.Dispose();
        Source.Dispose();
    }
}
