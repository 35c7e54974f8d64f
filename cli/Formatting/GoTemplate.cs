using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BuildFarm.Cli.Formatting;

/// <summary>
/// The common cases of docker's <c>--format</c> Go templates over a JSON document: literal text, <c>{{.Field.Path}}</c>
/// (printed as Go prints docker's values: lists as <c>[a b]</c>, maps (Labels, Volumes, ExposedPorts) as <c>map[k:v]</c>, structs as <c>{v1 v2}</c>, null lists <c>[]</c>), <c>{{json .X}}</c>,
/// <c>{{index .Map "key"}}</c>, <c>{{.}}</c>. Anything else is a <see cref="FormatException"/> naming the action and its
/// column, never a silent empty string.
/// </summary>
public sealed class GoTemplate
{
    private readonly IReadOnlyList<Func<JsonNode?, string>> _parts;

    private GoTemplate(IReadOnlyList<Func<JsonNode?, string>> parts) => _parts = parts;

    public static GoTemplate Parse(string template)
    {
        var parts = new List<Func<JsonNode?, string>>();
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0) { var tail = Unescape(template[at..]); parts.Add(_ => tail); break; }
            if (open > at) { var text = Unescape(template[at..open]); parts.Add(_ => text); }
            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0) throw new FormatException($"template: unclosed action at column {open + 1}: \"{template[open..]}\"");
            parts.Add(Action(template[(open + 2)..close].Trim(), open + 1));
            at = close + 2;
        }
        return new GoTemplate(parts);
    }

    public string Render(JsonNode? data)
    {
        var output = new StringBuilder();
        foreach (var part in _parts) output.Append(part(data));
        return output.ToString();
    }

    private static Func<JsonNode?, string> Action(string action, int column)
    {
        var words = Words(action, column);
        return words switch
        {
            [var path] when path.StartsWith('.') => data => GoValue(Select(data, path, column), LastField(path)),
            ["json", var path] when path.StartsWith('.') => data => ToJson(Select(data, path, column)),
            ["index", var path, var key] when path.StartsWith('.') && key.Length >= 2 && key[0] == '"' && key[^1] == '"' =>
                data => Select(data, path, column) is JsonObject map && map.TryGetPropertyValue(key[1..^1], out var value) ? GoValue(value, null) : "<no value>",
            _ => throw new FormatException($"template: unsupported action {{{{{action}}}}} at column {column} " +
                                           "(supported: {{.Field.Path}}, {{json .Field}}, {{index .Map \"key\"}})"),
        };
    }

    private static List<string> Words(string action, int column)
    {
        var words = new List<string>();
        var i = 0;
        while (i < action.Length)
        {
            if (char.IsWhiteSpace(action[i])) { i++; continue; }
            var start = i;
            if (action[i] == '"')
            {
                i = action.IndexOf('"', i + 1);
                if (i < 0) throw new FormatException($"template: unterminated string in action at column {column}");
                i++;
            }
            else
                while (i < action.Length && !char.IsWhiteSpace(action[i])) i++;
            words.Add(action[start..i]);
        }
        return words;
    }

    private static JsonNode? Select(JsonNode? data, string path, int column)
    {
        var node = data;
        foreach (var field in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node is not JsonObject obj)
                throw new FormatException($"template: at column {column}: can't evaluate field {field} in {Kind(node)} (path {path})");
            if (!obj.TryGetPropertyValue(field, out node))
                throw new FormatException($"template: at column {column}: there is no field {field} (path {path})");
        }
        return node;
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "a null value",
        JsonArray => "a list",
        _ => $"a {node.GetValueKind().ToString().ToLowerInvariant()}",
    };

    // Docker's structs print a nil map as map[] and a nil slice as []; in the JSON both are null.
    private static readonly HashSet<string> MapFields = new(StringComparer.Ordinal) { "Labels", "Volumes", "ExposedPorts", "Metadata" };

    private static string? LastField(string path) => path.Split('.', StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } parts ? parts[^1] : null;

    /// <summary>How Go's text/template prints a value (fmt's %v) of docker's inspect structs.</summary>
    private static string GoValue(JsonNode? node, string? field) => node switch
    {
        null when field is null => "<nil>",
        null => MapFields.Contains(field) ? "map[]" : "[]",
        JsonArray list => "[" + string.Join(' ', list.Select(n => GoValue(n, null))) + "]",
        JsonObject map when field is not null && MapFields.Contains(field) =>
            "map[" + string.Join(' ', map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}:{GoValue(p.Value, p.Key)}")) + "]",
        // Any other object is one of docker's structs: its values in field order (the document keeps docker's order).
        JsonObject fields => "{" + string.Join(' ', fields.Select(p => GoValue(p.Value, p.Key))) + "}",
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => value.ToJsonString(),
        _ => node.ToJsonString(),
    };

    private static string ToJson(JsonNode? node) => node is null ? "null" : node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    // Docker's CLI turns the two-character sequences \n and \t of a --format into a newline and a tab.
    private static string Unescape(string text) => text.Replace("\\n", "\n").Replace("\\t", "\t");
}
