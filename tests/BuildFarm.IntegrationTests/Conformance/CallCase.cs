namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>
/// One case of <see cref="CallsConformanceTests"/>: a folder under Conformance/Calls holding <c>case.txt</c> (covers, and
/// flags with the <c>--call=…</c> to answer), <c>context/Dockerfile</c> and <c>golden.txt</c>: what buildx printed on stdout,
/// after one <c># made by …</c> line naming the BuildKit and buildx that printed it.
/// </summary>
public sealed record CallCase(string Name, string Folder, string Covers, IReadOnlyList<string> Flags)
{
    public string ContextFolder => Path.Combine(Folder, "context");
    public string GoldenPath => Path.Combine(Folder, "golden.txt");

    public static string CasesFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var cases = Path.Combine(dir.FullName, "tests", "BuildFarm.IntegrationTests", "Conformance", "Calls");
                if (Directory.Exists(cases)) return cases;
            }
            throw new DirectoryNotFoundException("tests/BuildFarm.IntegrationTests/Conformance/Calls not found above " + AppContext.BaseDirectory);
        }
    }

    public static IReadOnlyList<CallCase> LoadAll() =>
        Directory.EnumerateDirectories(CasesFolder).Order(StringComparer.Ordinal).Select(Load).ToList();

    public static CallCase Load(string folder)
    {
        var meta = Path.Combine(folder, "case.txt");
        var lines = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        var covers = lines.FirstOrDefault(l => l.StartsWith("covers:", StringComparison.Ordinal))?["covers:".Length..].Trim()
                     ?? throw new InvalidDataException($"{meta}: 'covers:' is missing");
        var flags = lines.FirstOrDefault(l => l.StartsWith("flags:", StringComparison.Ordinal))?["flags:".Length..].Trim()
                    ?? throw new InvalidDataException($"{meta}: 'flags:' is missing");
        return new CallCase(Path.GetFileName(folder), folder, covers, flags.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>The golden's stdout (its first line names who printed it).</summary>
    public string ReadGolden()
    {
        var text = File.ReadAllText(GoldenPath);
        return text[(text.IndexOf('\n') + 1)..];
    }

    public void WriteGolden(string stdout, string provenance) => File.WriteAllText(GoldenPath, $"# made by {provenance}\n{stdout}");
}
