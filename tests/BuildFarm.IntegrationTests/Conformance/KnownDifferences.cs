namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>known-differences.txt: <c>case-name: reason</c> per line, the cases where we still differ from BuildKit
/// on purpose or for now. The suite fails on any difference not listed, and on a listed case that became identical.</summary>
public static class KnownDifferences
{
    public static IReadOnlyDictionary<string, string> Load(string casesFolder)
    {
        var path = Path.Combine(Path.GetDirectoryName(casesFolder)!, "known-differences.txt");
        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return known;
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var colon = line.IndexOf(':');
            if (colon < 0) throw new InvalidDataException($"{path}: line '{line}' is not 'case-name: reason'");
            known[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return known;
    }
}
