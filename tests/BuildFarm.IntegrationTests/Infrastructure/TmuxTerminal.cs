using System.Diagnostics;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A real pseudo-terminal: a detached tmux session on its own server socket (so nothing else's sessions are seen or
/// touched) running one shell command; <see cref="ScreenAsync"/> reads what the terminal shows now, as a user would.
/// </summary>
public sealed class TmuxTerminal : IAsyncDisposable
{
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"bf-tmux-{Guid.NewGuid():N}.sock");

    private TmuxTerminal() { }

    /// <summary>Starts <paramref name="command"/> (a sh command line) in a <paramref name="columns"/>x<paramref name="rows"/> terminal.</summary>
    public static async Task<TmuxTerminal> StartAsync(string command, int columns = 150, int rows = 50)
    {
        var terminal = new TmuxTerminal();
        // The shell stays after the command, so the last screen can still be read.
        await terminal.TmuxAsync("-f", "/dev/null", "new-session", "-d", "-x", columns.ToString(), "-y", rows.ToString(), $"{command}; sleep 3600");
        return terminal;
    }

    public Task<string> ScreenAsync() => TmuxAsync("capture-pane", "-p", "-J");

    /// <summary>The screen and everything that scrolled off it.</summary>
    public Task<string> HistoryAsync() => TmuxAsync("capture-pane", "-p", "-J", "-S", "-");

    /// <summary>Reads the screen until <paramref name="done"/> holds for it; fails with the last screen after <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForScreenAsync(Func<string, bool> done, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        var screen = "";
        while (deadline.Elapsed < timeout)
        {
            screen = await ScreenAsync();
            if (done(screen)) return screen;
            await Task.Delay(100);
        }
        throw new TimeoutException($"the terminal did not show {what} within {timeout.TotalSeconds} s; it shows:\n{screen}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await TmuxAsync("kill-server"); }
        catch (InvalidOperationException) { } // already gone
        File.Delete(_socket); // tmux leaves its socket file behind
    }

    private async Task<string> TmuxAsync(params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-S");
        start.ArgumentList.Add(_socket);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (process.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
