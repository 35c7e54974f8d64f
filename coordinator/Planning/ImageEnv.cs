namespace BuildFarm.Coordinator.Planning;

/// <summary>Image environment lists ("K=V" entries) as dockerfile2llb handles them.</summary>
public static class ImageEnv
{
    /// <summary>Splits an entry at the first '='; a bare "K" is key K with an empty value.</summary>
    public static (string Key, string Value) ParseKeyValue(string entry)
    {
        var i = entry.IndexOf('=');
        return i < 0 ? (entry, "") : (entry[..i], entry[(i + 1)..]);
    }

    /// <summary>Sets key to value: replaces the first entry with that key (even a bare "K"), otherwise appends.</summary>
    public static IReadOnlyList<string> AddEnv(IReadOnlyList<string> env, string key, string value) =>
        ImageEnvList.From(env).Set(key, value);

    /// <summary>Value of the last entry with that key, or null.</summary>
    public static string? Get(IReadOnlyList<string> env, string key)
    {
        if (env is ImageEnvList indexed)
            return indexed.TryGet(key, out var found) ? found : null;
        string? value = null;
        foreach (var entry in env)
        {
            var (k, v) = ParseKeyValue(entry);
            if (k == key)
                value = v;
        }
        return value;
    }

    /// <summary>
    /// What a RUN sees: the image env wins over build args of the same name, the last duplicate env entry wins, the
    /// first duplicate arg wins, and an arg without a value is not set.
    /// </summary>
    public static IReadOnlyDictionary<string, string> MergeEnvAndArgs(IEnumerable<KeyValuePair<string, string?>> args, IReadOnlyList<string> env,
        IReadOnlySet<string>? argsOverEnv = null)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in env)
        {
            var (k, v) = ParseKeyValue(entry);
            result[k] = v;
        }
        foreach (var (k, v) in args)
        {
            if (v is null)
                continue;
            if (argsOverEnv is not null && argsOverEnv.Contains(k)) result[k] = v;
            else result.TryAdd(k, v);
        }
        return result;
    }
}
