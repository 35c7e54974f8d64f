using System.Globalization;
using System.Text.Json;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>The exec (JSON array) form of CMD/RUN/ENTRYPOINT/SHELL/COPY/ADD/VOLUME/HEALTHCHECK arguments.</summary>
public static class ExecFormParser
{
    public const string NotStringArrayMessage = "when using JSON array syntax, arrays must be comprised of strings only";

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 10000 };

    /// <summary>
    /// The array's strings, or null when <paramref name="rest"/> is not a JSON array (the caller
    /// then uses the shell form). A valid array with a non-string member is an error.
    /// </summary>
    public static IReadOnlyList<string>? TryParse(string rest)
    {
        rest = GoText.TrimLeftSpace(rest);
        if (!rest.StartsWith('['))
        {
            return null;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(rest, Options);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (ArgumentException)
        {
            return null;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Array || HasUnrepresentableNumber(root))
            {
                // Go fails the whole decode on a number beyond float64, which means "not JSON".
                return null;
            }
            var result = new List<string>();
            foreach (var element in root.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.String)
                {
                    throw new DockerfileException(NotStringArrayMessage);
                }
                string? s;
                try
                {
                    s = element.GetString();
                }
                catch (InvalidOperationException)
                {
                    // A lone surrogate escape: Go decodes it as U+FFFD.
                    s = DecodeLenient(element.GetRawText());
                }
                result.Add(s ?? "");
            }
            return result;
        }
    }

    private static bool HasUnrepresentableNumber(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return !double.TryParse(element.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || double.IsInfinity(d);
            case JsonValueKind.Array:
                foreach (var e in element.EnumerateArray())
                {
                    if (HasUnrepresentableNumber(e))
                    {
                        return true;
                    }
                }
                return false;
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (HasUnrepresentableNumber(p.Value))
                    {
                        return true;
                    }
                }
                return false;
            default:
                return false;
        }
    }

    private static string DecodeLenient(string rawQuoted)
    {
        var sb = new System.Text.StringBuilder();
        var s = rawQuoted[1..^1];
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c != '\\' || i + 1 >= s.Length)
            {
                sb.Append(c);
                continue;
            }
            var e = s[++i];
            switch (e)
            {
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u' when i + 4 < s.Length:
                    sb.Append((char)int.Parse(s.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: sb.Append(e); break;
            }
        }
        // Replace unpaired surrogates the way Go does.
        var chars = sb.ToString().ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }
        return new string(chars);
    }
}
