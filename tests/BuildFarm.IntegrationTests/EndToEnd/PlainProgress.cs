using System.Text.RegularExpressions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Reads `--progress plain` output: each numbered step's name and whether it ran or was CACHED.</summary>
public sealed partial class PlainProgress
{
    private readonly Dictionary<int, string> _names = [];
    private readonly Dictionary<int, string> _status = [];

    public PlainProgress(string output)
    {
        foreach (var line in output.Split('\n'))
        {
            var m = StepLine().Match(line.TrimEnd('\r'));
            if (!m.Success) continue;
            var n = int.Parse(m.Groups[1].Value);
            var rest = m.Groups[2].Value;
            if (rest.StartsWith('[')) _names.TryAdd(n, rest);
            else if (rest == "CACHED" || rest.StartsWith("DONE ", StringComparison.Ordinal) || rest.StartsWith("ERROR", StringComparison.Ordinal))
                _status[n] = rest.Split(' ')[0].TrimEnd(':');
        }
    }

    /// <summary>Step name ("[build 3/4] COPY greet.sh .") → CACHED, DONE or ERROR.</summary>
    public IReadOnlyDictionary<string, string> Steps =>
        _names.Where(n => _status.ContainsKey(n.Key)).ToDictionary(n => n.Value, n => _status[n.Key]);

    public IReadOnlyList<string> Executed => [.. Steps.Where(s => s.Value == "DONE").Select(s => s.Key).Order()];
    public IReadOnlyList<string> Cached => [.. Steps.Where(s => s.Value == "CACHED").Select(s => s.Key).Order()];

    [GeneratedRegex(@"^#(\d+) (.*)$")]
    private static partial Regex StepLine();
}
