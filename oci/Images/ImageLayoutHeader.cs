using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci.Images;

/// <summary>The <c>oci-layout</c> file of an image layout.</summary>
public sealed record ImageLayoutHeader
{
    public const string CurrentVersion = "1.0.0";

    [JsonPropertyName("imageLayoutVersion")] public required string ImageLayoutVersion { get; init; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; init; }

    public static ImageLayoutHeader Current { get; } = new() { ImageLayoutVersion = CurrentVersion };
}
