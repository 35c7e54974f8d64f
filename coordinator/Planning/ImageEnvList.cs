using System.Collections;
using System.Collections.Immutable;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// An image environment list ("K=V" entries) that shares structure between versions and indexes its keys, so that a
/// Dockerfile of n ENV lines plans in O(n log n) time and memory instead of copying and rescanning the list per step.
/// </summary>
public sealed class ImageEnvList : IReadOnlyList<string>
{
    public static ImageEnvList Empty { get; } = new(ImmutableList<string>.Empty, ImmutableDictionary.Create<string, KeyPositions>(StringComparer.Ordinal));

    private readonly ImmutableList<string> _entries;
    private readonly ImmutableDictionary<string, KeyPositions> _index;

    private ImageEnvList(ImmutableList<string> entries, ImmutableDictionary<string, KeyPositions> index)
    {
        _entries = entries;
        _index = index;
    }

    /// <summary>The same entries, indexed; an <see cref="ImageEnvList"/> is returned as is.</summary>
    public static ImageEnvList From(IReadOnlyList<string> entries)
    {
        if (entries is ImageEnvList list)
            return list;
        var index = ImmutableDictionary.CreateBuilder<string, KeyPositions>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var key = ImageEnv.ParseKeyValue(entries[i]).Key;
            index[key] = index.TryGetValue(key, out var seen) ? seen with { Last = i } : new KeyPositions(i, i);
        }
        return new ImageEnvList(ImmutableList.CreateRange(entries), index.ToImmutable());
    }

    /// <summary>Sets key to value: replaces the first entry with that key (even a bare "K"), otherwise appends.</summary>
    public ImageEnvList Set(string key, string value)
    {
        var entry = key + "=" + value;
        if (_index.TryGetValue(key, out var positions))
            return new ImageEnvList(_entries.SetItem(positions.First, entry), _index);
        var at = _entries.Count;
        return new ImageEnvList(_entries.Add(entry), _index.Add(key, new KeyPositions(at, at)));
    }

    /// <summary>Value of the last entry with that key.</summary>
    public bool TryGet(string key, out string value)
    {
        if (_index.TryGetValue(key, out var positions))
        {
            value = ImageEnv.ParseKeyValue(_entries[positions.Last]).Value;
            return true;
        }
        value = "";
        return false;
    }

    public int Count => _entries.Count;

    public string this[int index] => _entries[index];

    public IEnumerator<string> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Where a key's first entry (replaced by ENV) and last entry (the value a lookup sees) are.</summary>
    public readonly record struct KeyPositions(int First, int Last);
}
