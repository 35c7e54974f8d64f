using System.CommandLine;
using System.Globalization;
using BuildFarm.Worker.Execution;

namespace BuildFarm.Cli.Commands;

/// <summary>The cgroup limits of RUN steps: <c>--run-pids-limit</c>, <c>--run-memory</c>, <c>--run-cpus</c>. On <c>serve</c>
/// they are the server's worker's limits; on <c>build</c> they travel with the build (and set the embedded worker's).</summary>
public sealed class RunLimitOptions
{
    public Option<long?> Pids { get; } = new("--run-pids-limit") { Description = "Most processes a RUN step may have at once (default 4096)" };
    public Option<string?> Memory { get; } = new("--run-memory") { Description = "Memory limit of a RUN step (bytes, or with k, m, g: 512m); default none" };
    public Option<double?> Cpus { get; } = new("--run-cpus") { Description = "CPU limit of a RUN step in cores (1.5); default none" };

    public IEnumerable<Option> All => [Pids, Memory, Cpus];

    public bool AnyGiven(ParseResult parse) =>
        parse.GetValue(Pids) is not null || parse.GetValue(Memory) is not null || parse.GetValue(Cpus) is not null;

    /// <summary>The limits asked for, over the defaults; a bad value is a <see cref="UsageException"/> naming the flag.</summary>
    public ContainerLimits Parse(ParseResult parse)
    {
        var limits = ContainerLimits.Default;
        if (parse.GetValue(Pids) is { } pids)
            limits = limits with { Pids = pids > 0 ? pids : throw new UsageException($"--run-pids-limit {pids}: expected a positive number of processes") };
        if (parse.GetValue(Memory) is { } memory)
            limits = limits with { MemoryBytes = ParseBytes(memory) };
        if (parse.GetValue(Cpus) is { } cpus)
            limits = limits with { Cpus = cpus is >= 0.01 and <= 4096 ? cpus : throw new UsageException($"--run-cpus {cpus}: expected a number of cores from 0.01") };
        try { return limits.Validated(); }
        catch (ArgumentException e) { throw new UsageException($"--run-memory {parse.GetValue(Memory)}: {e.Message}"); } // pids and cpus were checked above
    }

    /// <summary>Only the limits given on the command line (none: null), checked as <see cref="Parse"/> does: what a build
    /// asks of the worker that runs its RUN steps, which keeps them at or below its own.</summary>
    public ContainerLimits? Asked(ParseResult parse)
    {
        if (!AnyGiven(parse)) return null;
        var limits = Parse(parse);
        return new ContainerLimits
        {
            Pids = parse.GetValue(Pids) is not null ? limits.Pids : null,
            MemoryBytes = limits.MemoryBytes,
            Cpus = limits.Cpus,
        };
    }

    private static long ParseBytes(string text)
    {
        var value = text.Trim().ToLowerInvariant();
        var unit = value.Length > 0 && char.IsLetter(value[^1]) ? value[^1] : 'b';
        var digits = unit == 'b' && value.EndsWith('b') ? value[..^1] : char.IsLetter(value.LastOrDefault()) ? value[..^1] : value;
        var shift = unit switch { 'b' => 0, 'k' => 10, 'm' => 20, 'g' => 30, _ => -1 };
        if (shift < 0 || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0 || number > long.MaxValue >> shift)
            throw new UsageException($"--run-memory {text}: expected a size such as 536870912, 512m or 2g");
        return number << shift;
    }
}
