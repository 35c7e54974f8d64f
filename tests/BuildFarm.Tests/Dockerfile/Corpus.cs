using System.Text;
using System.Text.Json;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>Access to the copied upstream corpus under TestData/corpus (never /work/shared).</summary>
internal static class Corpus
{
    public static string Root { get; } = Path.Combine(AppContext.BaseDirectory, "TestData", "corpus");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Reads a file as UTF-8 text, exactly (no newline normalisation).</summary>
    public static string ReadText(params string[] parts) => new UTF8Encoding(false).GetString(File.ReadAllBytes(PathOf(parts)));

    public static JsonElement Json(params string[] parts)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(PathOf(parts)));
        return doc.RootElement.Clone();
    }

    public static string[] Strings(JsonElement array) =>
        array.ValueKind == JsonValueKind.Null ? [] : array.EnumerateArray().Select(e => e.GetString()!).ToArray();
}
