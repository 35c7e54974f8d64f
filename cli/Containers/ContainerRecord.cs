using System.Text.Json.Serialization;
using BuildFarm.Oci.Images;

namespace BuildFarm.Cli.Containers;

/// <summary>A container kept by <c>run --name</c>: what it ran from and how it ended. Its writable layer is the
/// <c>upper</c> folder beside the record.</summary>
public sealed record ContainerRecord
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("image")] public required string Image { get; init; }
    [JsonPropertyName("imageId")] public required string ImageId { get; init; }
    [JsonPropertyName("manifestDigest")] public required string ManifestDigest { get; init; }
    [JsonPropertyName("command")] public required IReadOnlyList<string> Command { get; init; }
    /// <summary>The container's config as it ran (image config with run's overrides): <c>commit</c> makes it the new image's, as docker does.</summary>
    [JsonPropertyName("config")] public ContainerConfig? Config { get; init; }
    [JsonPropertyName("created")] public DateTimeOffset Created { get; init; }
    /// <summary>The buildfarm process running it; null once it exited.</summary>
    [JsonPropertyName("pid")] public int? Pid { get; init; }
    [JsonPropertyName("exitCode")] public int? ExitCode { get; init; }
    [JsonPropertyName("finished")] public DateTimeOffset? Finished { get; init; }

    [JsonIgnore] public string ShortId => Id[..12];

    /// <summary>Running while the process that started it is alive (a killed buildfarm leaves an exited container).</summary>
    [JsonIgnore] public bool IsRunning => Pid is { } pid && ExitCode is null && Directory.Exists($"/proc/{pid}");
}
