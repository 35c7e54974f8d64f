using System.Text.RegularExpressions;
using BuildFarm.Protos.V1;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>"Why did this step miss the cache?": a rebuild names the input that changed for every step that runs again.</summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class CacheMissExplanationTests(BusyboxFixture busybox) : IDisposable
{
    private const string Dockerfile = """
        FROM scratch AS base
        ADD rootfs.tar /
        FROM base
        COPY app.txt /app.txt
        ARG VERSION=1.0
        RUN echo "version $VERSION" > /version
        RUN cat /app.txt /version > /both
        """;

    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task A_rebuild_names_the_changed_build_arg_or_file_for_each_step_that_runs_again()
    {
        var context = _scratch.Context("explain", Dockerfile, ("app.txt", "one\n"));
        var first = await _scratch.Cli.BuildAsync("--build-arg", "VERSION=1.2", context);
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.All(Misses(first.Stderr).Values, why => Assert.Equal("no earlier record of this step", why));

        // A changed build arg: the steps that see it say so (the last one also because its parent changed).
        var changedArg = await _scratch.Cli.RunAsync("build", "--progress", "rawjson", "--build-arg", "VERSION=1.3", context);
        Assert.True(changedArg.ExitCode == 0, changedArg.ToString());
        var events = changedArg.Stderr.Split('\n').Where(l => l.StartsWith('{')).Select(l => ProgressEvent.Parser.ParseJson(l)).ToList();
        var missed = events.Where(e => e.Kind == ProgressEvent.Types.Kind.CacheMiss).ToDictionary(e => Instruction(e.Name));
        var cached = events.Where(e => e.Kind == ProgressEvent.Types.Kind.Cached).Select(e => Instruction(e.Name)).Order();
        Assert.Equal(["ADD rootfs.tar /", "COPY app.txt /app.txt"], cached);
        Assert.Equal(["RUN cat /app.txt /version > /both", "RUN echo \"version $VERSION\" > /version"], missed.Keys.Order());
        Assert.Equal(["buildArgs.VERSION"], missed["RUN echo \"version $VERSION\" > /version"].CacheMissInputs);
        Assert.Equal("buildArgs.VERSION: 1.2 -> 1.3", missed["RUN echo \"version $VERSION\" > /version"].CacheMiss);
        Assert.Equal(["buildArgs.VERSION", "parent"], missed["RUN cat /app.txt /version > /both"].CacheMissInputs);
        Assert.Equal("buildArgs.VERSION: 1.2 -> 1.3; parent changed", missed["RUN cat /app.txt /version > /both"].CacheMiss);
        Assert.All(missed.Values, miss => Assert.Contains(events, e => e.Kind == ProgressEvent.Types.Kind.Completed && e.StepId == miss.StepId));

        // A changed context file: the COPY names the checksum, the steps after it their parent.
        await File.WriteAllTextAsync(Path.Combine(context, "app.txt"), "two\n");
        var changedFile = await _scratch.Cli.BuildAsync("--build-arg", "VERSION=1.3", context);
        Assert.True(changedFile.ExitCode == 0, changedFile.ToString());
        Assert.Equal(new Dictionary<string, string>
        {
            ["COPY app.txt /app.txt"] = "contentChecksum changed",
            ["RUN echo \"version $VERSION\" > /version"] = "parent changed",
            ["RUN cat /app.txt /version > /both"] = "parent changed",
        }, Misses(changedFile.Stderr));
        Assert.Equal(["[base 2/2] ADD rootfs.tar /"], new PlainProgress(changedFile.Stderr).Cached);

        var noCache = await _scratch.Cli.BuildAsync("--no-cache", "--build-arg", "VERSION=1.3", context);
        Assert.True(noCache.ExitCode == 0, noCache.ToString());
        var noCacheMisses = Misses(noCache.Stderr);
        Assert.Equal(4, noCacheMisses.Count);
        Assert.All(noCacheMisses.Values, why => Assert.Equal("--no-cache", why));
    }

    /// <summary>Plain progress: instruction → the text after "#n cache miss: ", printed after the step's name line.</summary>
    private static Dictionary<string, string> Misses(string plain)
    {
        var names = new Dictionary<string, string>();
        var misses = new Dictionary<string, string>();
        foreach (var line in plain.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            var m = StepLine().Match(line);
            if (!m.Success) continue;
            var (n, rest) = (m.Groups[1].Value, m.Groups[2].Value);
            if (rest.StartsWith('[')) names.TryAdd(n, Instruction(rest));
            else if (rest.StartsWith("cache miss: ", StringComparison.Ordinal))
            {
                Assert.True(names.ContainsKey(n), $"the miss of #{n} came before its name:\n{plain}");
                misses[names[n]] = rest["cache miss: ".Length..];
            }
        }
        return misses;
    }

    // "[stage-1 3/4] RUN make" → "RUN make"
    private static string Instruction(string name) => name[(name.IndexOf("] ", StringComparison.Ordinal) + 2)..];

    [GeneratedRegex(@"^#(\d+) (.*)$")]
    private static partial Regex StepLine();
}
