using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Oci;

/// <summary>
/// JSON settings for OCI documents: compact, nulls omitted, '+' and '&lt;' not escaped (the way Go and
/// containerd write them), unknown fields kept through <c>[JsonExtensionData]</c> on every document type.
/// </summary>
public static class OciJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            WriteIndented = false,
            RespectRequiredConstructorParameters = true,
            RespectNullableAnnotations = true,
            AllowDuplicateProperties = false,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>Parses a document; a malformed one or a JSON type mismatch is reported with the type's name.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options)
                ?? throw new InvalidOciDocumentException($"{typeof(T).Name} document is JSON null");
        }
        catch (JsonException e)
        {
            throw new InvalidOciDocumentException($"not a valid {typeof(T).Name} document: {e.Message}", e);
        }
    }
}
