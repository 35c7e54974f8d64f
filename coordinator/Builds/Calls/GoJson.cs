using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BuildFarm.Coordinator.Builds.Calls;

/// <summary>
/// Go's <c>json.MarshalIndent(v, "", "  ")</c> for a tree built in member order: buildx prints BuildKit's result.json
/// as is, so the bytes (indentation, HTML-safe escapes of &lt; &gt; &amp;, \u2028) must be Go's, not System.Text.Json's.
/// </summary>
public static class GoJson
{
    public static string MarshalIndent(JsonNode node)
    {
        var text = new StringBuilder();
        Write(text, node, 0);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonNode? node, int depth)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                if (obj.Count == 0)
                {
                    text.Append("{}");
                    break;
                }
                text.Append('{');
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first) text.Append(',');
                    first = false;
                    NewLine(text, depth + 1);
                    Quote(text, key);
                    text.Append(": ");
                    Write(text, value, depth + 1);
                }
                NewLine(text, depth);
                text.Append('}');
                break;
            case JsonArray array:
                if (array.Count == 0)
                {
                    text.Append("[]");
                    break;
                }
                text.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0) text.Append(',');
                    NewLine(text, depth + 1);
                    Write(text, array[i], depth + 1);
                }
                NewLine(text, depth);
                text.Append(']');
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                Quote(text, value.GetValue<string>());
                break;
            case JsonValue value when value.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                text.Append(value.GetValue<bool>() ? "true" : "false");
                break;
            case JsonValue value:
                text.Append(value.ToJsonString()); // numbers: integers only here (line numbers)
                break;
        }
    }

    private static void NewLine(StringBuilder text, int depth) => text.Append('\n').Append(' ', depth * 2);

    // one home for Go's string escaping: the writer BuildKit's cache keys are checked against
    private static void Quote(StringBuilder text, string value) => CacheIo.BuildKitKeys.GoJson.Quote(text, value);
}
