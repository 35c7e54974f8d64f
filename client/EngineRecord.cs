using System.Text.Json.Serialization;

namespace BuildFarm.Client;

/// <summary><c>$BUILDFARM_HOME/engine.json</c> as the resident engine writes it (pid, version, socket, started).</summary>
public sealed record EngineRecord(
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("version")] string? Version,
    [property: JsonPropertyName("socket")] string? Socket,
    [property: JsonPropertyName("started")] DateTimeOffset? Started);
