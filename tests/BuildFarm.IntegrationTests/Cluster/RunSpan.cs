using System.Globalization;
using System.Text.RegularExpressions;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// When and where a RUN step really ran, as the step itself reports it: the machine's uptime (one clock for every
/// container on this host, 10 ms resolution) before and after its work, and the overlay upper directory of its root,
/// whose host path lies under the home of the worker that ran it.
/// </summary>
public sealed partial record RunSpan(string Label, double Start, double End, string UpperDir)
{
    /// <summary>A RUN command line: does <paramref name="work"/> between two uptime readings and prints one span line.</summary>
    public static string Command(string label, string work) =>
        $"s=$(cut -d' ' -f1 /proc/uptime); {work}; " +
        $"echo \"span {label} $s $(cut -d' ' -f1 /proc/uptime) $(grep -o 'upperdir=[^,]*' /proc/self/mountinfo | head -n1)\"";

    public bool Overlaps(RunSpan other) => Start < other.End && other.Start < End;

    public static IReadOnlyList<RunSpan> Parse(string output) =>
        [.. SpanLine().Matches(output).Select(m => new RunSpan(m.Groups[1].Value,
            double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
            m.Groups[4].Value))];

    public override string ToString() => $"{Label} {Start:0.00}..{End:0.00} in {UpperDir}";

    [GeneratedRegex(@"span (\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) upperdir=(\S+)")]
    private static partial Regex SpanLine();
}
