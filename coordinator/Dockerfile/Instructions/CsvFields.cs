using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// One CSV record, as <c>--mount</c>/<c>--device</c> values are written (the rules of Go's encoding/csv
/// that BuildKit applies): ',' separates fields, a field starting with '"' is quoted with "" for a quote,
/// a '"' elsewhere is an error, an empty value is an error, one trailing newline is ignored.
/// </summary>
internal static class CsvFields
{
    private const string ErrBareQuote = "bare \" in non-quoted-field";
    private const string ErrQuote = "extraneous or missing \" in quoted-field";

    public static List<string> Parse(string value, string errorPrefix)
    {
        if (value.EndsWith("\r\n", StringComparison.Ordinal))
        {
            value = value[..^2];
        }
        else if (value.EndsWith('\n'))
        {
            value = value[..^1];
        }
        if (value.Length == 0)
        {
            throw new DockerfileException($"{errorPrefix}: EOF");
        }
        var fields = new List<string>();
        var pos = 0;
        while (true)
        {
            if (pos >= value.Length || value[pos] != '"')
            {
                var comma = value.IndexOf(',', pos);
                var field = comma >= 0 ? value[pos..comma] : value[pos..];
                var quote = field.IndexOf('"');
                if (quote >= 0)
                {
                    throw Error(errorPrefix, pos + quote, ErrBareQuote);
                }
                fields.Add(field);
                if (comma < 0)
                {
                    return fields;
                }
                pos = comma + 1;
                continue;
            }
            pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                var close = value.IndexOf('"', pos);
                if (close < 0)
                {
                    throw Error(errorPrefix, pos, ErrQuote);
                }
                sb.Append(value, pos, close - pos);
                pos = close + 1;
                if (pos < value.Length && value[pos] == '"')
                {
                    sb.Append('"');
                    pos++;
                    continue;
                }
                if (pos < value.Length && value[pos] == ',')
                {
                    fields.Add(sb.ToString());
                    pos++;
                    break;
                }
                if (pos >= value.Length)
                {
                    fields.Add(sb.ToString());
                    return fields;
                }
                throw Error(errorPrefix, pos - 1, ErrQuote);
            }
        }
    }

    private static DockerfileException Error(string prefix, int index, string message) =>
        new($"{prefix}: parse error on line 1, column {index + 1}: {message}");
}
