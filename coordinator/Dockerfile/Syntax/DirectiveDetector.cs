using System.Text.Json;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>Finds a directive's value before parsing (BuildKit's <c>DetectSyntax</c>/<c>ParseDirective</c>).</summary>
public static class DirectiveDetector
{
    /// <summary>
    /// The <c># syntax=</c> frontend reference: may follow a <c>#!</c> line; <c>//syntax=</c> and a
    /// whole-file JSON object <c>{"syntax": "..."}</c> are accepted too. <c>Ref</c> is the value up to
    /// the first space; <c>CommandLine</c> the whole value.
    /// </summary>
    public static DetectedDirective? DetectSyntax(string text) => Detect(DirectiveParser.Syntax, text, anyFormat: true);

    /// <summary>Like <see cref="DetectSyntax"/> for any directive (e.g. <c>check</c>), '#' style only.</summary>
    public static DetectedDirective? ParseDirective(string key, string text) => Detect(key, text, anyFormat: false);

    private static DetectedDirective? Detect(string key, string text, bool anyFormat)
    {
        if (text.StartsWith('\uFEFF'))
        {
            text = text[1..];
        }
        var line = 0;
        var nl = text.IndexOf('\n');
        var first = nl < 0 ? text : text[..nl];
        if (first.StartsWith("#!", StringComparison.Ordinal))
        {
            text = nl < 0 ? "" : text[(nl + 1)..];
            line++;
        }
        var found = FromParser(key, text, new DirectiveParser("#", line));
        if (found != null || !anyFormat)
        {
            return found;
        }
        found = FromParser(key, text, new DirectiveParser("//", line));
        if (found != null)
        {
            return found;
        }
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty(key, out var value)
                && value.ValueKind == JsonValueKind.String)
            {
                var v = value.GetString() ?? "";
                return new DetectedDirective(v, v, line);
            }
        }
        catch (JsonException)
        {
            // Not a JSON directive document.
        }
        catch (InvalidOperationException)
        {
            // A string that cannot be represented (lone surrogate): not a directive.
        }
        return null;
    }

    private static DetectedDirective? FromParser(string key, string text, DirectiveParser parser)
    {
        // A repeated directive stops the scan; the ones before it still count (as in BuildKit).
        var directives = new List<Directive>();
        parser.ParseAllInto(text, directives);
        foreach (var d in directives)
        {
            if (d.Name == key)
            {
                var sp = d.Value.IndexOf(' ');
                return new DetectedDirective(sp < 0 ? d.Value : d.Value[..sp], d.Value, d.Line);
            }
        }
        return null;
    }
}
