using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>--progress tty</c> read from a real terminal (tmux): the live view of buildx.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class TtyProgressTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Tty_progress_on_a_terminal_shows_running_steps_live_and_collapses_finished_ones()
    {
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nRUN echo warming-up && sleep 4 && echo almost\nRUN echo second-step\n");
        // No --progress and no CI: a terminal gets the live view by default.
        await using var terminal = await TmuxTerminal.StartAsync(
            $"env -u CI BUILDFARM_ENGINE=embedded BUILDFARM_HOME='{_scratch.Home}' dotnet '{BuildFarmCli.CommandPath}' build -t tty:1 '{context}'; echo \"BUILD-EXIT=$?\"");

        var live = await terminal.WaitForScreenAsync(s => s.Contains(" => => # warming-up"), TimeSpan.FromMinutes(2), "the running step's log");
        Assert.Matches(@"\[\+\] Building \d+\.\ds \(\d+/\d+\)", live);
        Assert.Matches(@" => \[stage-0 3/4\] RUN echo warming-up && sleep 4 && echo almost +\d+\.\ds", live);
        Assert.DoesNotContain("FINISHED", live);
        // The elapsed time of the running step counts up on screen while it prints nothing.
        var later = await terminal.WaitForScreenAsync(s => RunningSeconds(s) >= RunningSeconds(live) + 1 || s.Contains("BUILD-EXIT="),
            TimeSpan.FromSeconds(30), "the elapsed time counting");
        Assert.DoesNotContain("BUILD-EXIT=", later);

        var final = await terminal.WaitForScreenAsync(s => s.Contains("BUILD-EXIT="), TimeSpan.FromMinutes(2), "the end of the build");
        Assert.Contains("BUILD-EXIT=0", final);
        Assert.Matches(@"\[\+\] Building \d+\.\ds \(\d+/\d+\) FINISHED", final);
        // Finished steps are one line each, with their duration; their logs are folded away.
        Assert.Matches(@" => \[stage-0 3/4\] RUN echo warming-up && sleep 4 && echo almost +[4-9]\.\ds", final);
        Assert.Matches(@" => \[stage-0 4/4\] RUN echo second-step +\d+\.\ds", final);
        Assert.DoesNotContain("=> => #", final);
        Assert.Contains(" => naming to tty:1 done", final);
    }

    [Fact]
    public async Task Tty_progress_keeps_a_failed_step_expanded_with_its_log()
    {
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nRUN echo about-to-fail && exit 3\n");
        await using var terminal = await TmuxTerminal.StartAsync(
            $"env -u CI BUILDFARM_ENGINE=embedded BUILDFARM_HOME='{_scratch.Home}' dotnet '{BuildFarmCli.CommandPath}' build --progress tty '{context}'; echo \"BUILD-EXIT=$?\"");

        var final = await terminal.WaitForScreenAsync(s => s.Contains("BUILD-EXIT="), TimeSpan.FromMinutes(2), "the end of the build");
        Assert.Contains("BUILD-EXIT=1", final);
        Assert.Matches(@" => ERROR \[stage-0 3/3\] RUN echo about-to-fail && exit 3 +\d+\.\ds", final);
        Assert.Contains(" => => # about-to-fail", final);
    }

    [Fact]
    public async Task Tty_progress_taller_than_the_terminal_leaves_every_finished_step_in_the_scrollback()
    {
        var runs = string.Concat(Enumerable.Range(1, 12).Select(i => $"RUN echo step-{i}\n"));
        var context = _scratch.Context("ctx", $"FROM scratch\nADD rootfs.tar /\n{runs}");
        await using var terminal = await TmuxTerminal.StartAsync(
            $"env -u CI BUILDFARM_ENGINE=embedded BUILDFARM_HOME='{_scratch.Home}' dotnet '{BuildFarmCli.CommandPath}' build --progress tty '{context}'; echo \"BUILD-EXIT=$?\"",
            columns: 120, rows: 10);

        await terminal.WaitForScreenAsync(s => s.Contains("BUILD-EXIT="), TimeSpan.FromMinutes(3), "the end of the build");
        var all = await terminal.HistoryAsync();
        Assert.Contains("BUILD-EXIT=0", all);
        for (var i = 1; i <= 12; i++)
            Assert.Matches($@" => \[stage-0 {i + 2}/14\] RUN echo step-{i} +\d+\.\ds", all);
        // One full last frame: its header once, followed by the result lines.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(all, @"\(\d+/\d+\) FINISHED"));
        Assert.Matches(@"RUN echo step-12 +\d+\.\ds\r?\n => writing image sha256:", all);
    }

    private static double RunningSeconds(string screen)
    {
        var m = System.Text.RegularExpressions.Regex.Match(screen, @" => \[stage-0 3/4\] RUN echo warming-up[^\n]*? (\d+\.\d)s");
        return m.Success ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;
    }
}
