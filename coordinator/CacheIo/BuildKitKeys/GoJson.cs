using System.Globalization;
using System.Text;

namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>
/// Writes JSON byte for byte as Go's encoding/json (1.22+) marshals it, because BuildKit hashes that output into its cache
/// keys: fields in the order given, no spaces, strings with &lt; &gt; &amp; U+2028 U+2029 escaped as \u00XX, \b \f \n \r \t
/// as such, other control characters as \u00XX, everything else (non-ASCII included) as UTF-8.
/// </summary>
public sealed class GoJson
{
    private readonly StringBuilder _text = new();
    private readonly Stack<bool> _needsComma = new();
    private bool _afterName;

    public GoJson BeginObject() => Open('{');
    public GoJson EndObject() => Close('}');
    public GoJson BeginArray() => Open('[');
    public GoJson EndArray() => Close(']');

    public GoJson Name(string name)
    {
        Separate();
        Quote(_text, name);
        _text.Append(':');
        _afterName = true;
        return this;
    }

    public GoJson String(string value)
    {
        Separate();
        Quote(_text, value);
        return this;
    }

    public GoJson Number(long value)
    {
        Separate();
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    public GoJson Bool(bool value)
    {
        Separate();
        _text.Append(value ? "true" : "false");
        return this;
    }

    public GoJson Strings(IEnumerable<string> values)
    {
        BeginArray();
        foreach (var value in values) String(value);
        return EndArray();
    }

    public override string ToString() => _text.ToString();

    public byte[] ToUtf8() => Encoding.UTF8.GetBytes(_text.ToString());

    private GoJson Open(char bracket)
    {
        Separate();
        _text.Append(bracket);
        _needsComma.Push(false);
        return this;
    }

    private GoJson Close(char bracket)
    {
        _needsComma.Pop();
        _text.Append(bracket);
        return this;
    }

    // A value right after its name takes no comma; any other item of a container after the first does.
    private void Separate()
    {
        if (_afterName)
        {
            _afterName = false;
            return;
        }
        if (_needsComma.Count == 0) return;
        if (_needsComma.Pop()) _text.Append(',');
        _needsComma.Push(true);
    }

    /// <summary>A string as Go's encodeState.string writes it with HTML escaping on (json.Marshal's default).</summary>
    public static void Quote(StringBuilder text, string value)
    {
        text.Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '<' or '>' or '&' or '\u2028' or '\u2029':
                    text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    break;
                default:
                    if (c < 0x20)
                        text.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])))
                        text.Append("\\ufffd"); // a lone surrogate is invalid UTF-8 to Go: it writes the replacement character
                    else if (char.IsHighSurrogate(c))
                    {
                        text.Append(c).Append(value[i + 1]);
                        i++;
                    }
                    else
                        text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }
}
