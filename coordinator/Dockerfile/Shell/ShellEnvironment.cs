namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>
/// An immutable variable set. Built from <c>KEY=VALUE</c> strings (a bare <c>KEY</c> defines the
/// empty string; the last definition of a key wins, as in BuildKit's <c>EnvsFromSlice</c>) or from a map.
/// </summary>
public sealed class ShellEnvironment : IShellEnvironment
{
    private readonly Dictionary<string, string> _values;
    private readonly List<string> _keys;

    public static ShellEnvironment Empty { get; } = new(new Dictionary<string, string>(StringComparer.Ordinal), []);

    private ShellEnvironment(Dictionary<string, string> values, List<string> keys)
    {
        _values = values;
        _keys = keys;
    }

    public static ShellEnvironment FromList(IEnumerable<string> entries)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new List<string>();
        foreach (var entry in entries)
        {
            var eq = entry.IndexOf('=');
            var key = eq < 0 ? entry : entry[..eq];
            var value = eq < 0 ? "" : entry[(eq + 1)..];
            if (!values.ContainsKey(key))
            {
                keys.Add(key);
            }
            values[key] = value;
        }
        return new ShellEnvironment(values, keys);
    }

    public static ShellEnvironment FromPairs(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new List<string>();
        foreach (var (key, value) in pairs)
        {
            if (!values.ContainsKey(key))
            {
                keys.Add(key);
            }
            values[key] = value;
        }
        return new ShellEnvironment(values, keys);
    }

    public bool TryGet(string name, out string value)
    {
        if (_values.TryGetValue(name, out var v))
        {
            value = v;
            return true;
        }
        value = "";
        return false;
    }

    /// <summary>The value of <paramref name="name"/>, or "" when undefined.</summary>
    public string Get(string name) => _values.TryGetValue(name, out var v) ? v : "";

    public IReadOnlyList<string> Keys => _keys;
}
