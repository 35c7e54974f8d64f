namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>
/// One differential case: a folder under Conformance/Cases holding <c>case.txt</c> (what it covers, build flags),
/// <c>context/</c> (the build context, Dockerfile included), an optional <c>setup.sh</c> (run in the copied context
/// for what git cannot hold: empty folders, special modes, symlinks, sparse files) and <c>golden.txt</c>
/// (BuildKit's normalized result).
/// </summary>
public sealed record ConformanceCase(string Name, string Folder, string Covers, IReadOnlyList<string> BuildFlags)
{
    public string ContextFolder => Path.Combine(Folder, "context");
    public string GoldenPath => Path.Combine(Folder, "golden.txt");
    public string SetupScript => Path.Combine(Folder, "setup.sh");

    /// <summary>The flags with <c>{context}</c> replaced by the prepared context's path (e.g. --build-context NAME={context}/dir),
    /// the same for both builders.</summary>
    public IReadOnlyList<string> FlagsFor(string context) => [.. BuildFlags.Select(f => f.Replace("{context}", context, StringComparison.Ordinal))];

    /// <summary>Cases whose Dockerfile adds the busybox rootfs get it copied in, and their tree is diffed against it.</summary>
    public bool UsesBusybox => File.ReadAllText(Path.Combine(ContextFolder, "Dockerfile")).Contains("rootfs.tar", StringComparison.Ordinal);

    public static ConformanceCase Load(string folder)
    {
        var name = Path.GetFileName(folder);
        var meta = Path.Combine(folder, "case.txt");
        if (!File.Exists(meta)) throw new InvalidDataException($"conformance case {name}: case.txt is missing");
        if (!File.Exists(Path.Combine(folder, "context", "Dockerfile"))) throw new InvalidDataException($"conformance case {name}: context/Dockerfile is missing");
        string? covers = null;
        var flags = new List<string>();
        foreach (var raw in File.ReadAllLines(meta))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var colon = line.IndexOf(':');
            if (colon < 0) throw new InvalidDataException($"{meta}: line '{line}' is not 'key: value'");
            var (key, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
            switch (key)
            {
                case "covers": covers = value; break;
                case "flags": flags.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break;
                default: throw new InvalidDataException($"{meta}: unknown key '{key}' (covers, flags)");
            }
        }
        return new ConformanceCase(name, folder, covers ?? throw new InvalidDataException($"{meta}: 'covers:' is missing"), flags);
    }
}
