using System.Globalization;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Independent stages run at once with the default slots, as BuildKit runs them, whatever the CPU count.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class StageParallelismTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Three_independent_stages_run_steps_overlap_with_default_slots()
    {
        // Each RUN writes the machine's uptime (shared by every container) when it starts and when it ends.
        const string sleeper = "RUN cut -d' ' -f1 /proc/uptime > /start && sleep 3 && cut -d' ' -f1 /proc/uptime > /end";
        var dockerfile = $"""
            FROM scratch AS base
            ADD rootfs.tar /
            FROM base AS s1
            {sleeper} && echo 1 > /id
            FROM base AS s2
            {sleeper} && echo 2 > /id
            FROM base AS s3
            {sleeper} && echo 3 > /id
            FROM scratch
            COPY --from=s1 /start /s1.start
            COPY --from=s1 /end /s1.end
            COPY --from=s2 /start /s2.start
            COPY --from=s2 /end /s2.end
            COPY --from=s3 /start /s3.start
            COPY --from=s3 /end /s3.end
            """;
        var context = _scratch.Context("ctx-parallel", dockerfile);
        var output = Path.Combine(_scratch.Root, "out");

        var build = await _scratch.Cli.BuildAsync("--output", $"type=local,dest={output}", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        var spans = new[] { "s1", "s2", "s3" }.Select(s => (Start: Uptime(output, s + ".start"), End: Uptime(output, s + ".end"))).ToList();
        // All three ran at one moment: the last to start started before the first to end ended (2 slots: 2 then 1).
        var lastStart = spans.Max(s => s.Start);
        var firstEnd = spans.Min(s => s.End);
        Assert.True(lastStart < firstEnd,
            $"the three RUN steps did not overlap: {string.Join(", ", spans.Select(s => $"[{s.Start}..{s.End}]"))} ({Environment.ProcessorCount} CPUs)");
    }

    private static double Uptime(string dir, string file) =>
        double.Parse(File.ReadAllText(Path.Combine(dir, file)).Trim(), CultureInfo.InvariantCulture);
}
