using System.Diagnostics;
using System.Text;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A <c>buildfarm coordinator|worker|serve</c> process: waits for its ready line, keeps its output, stops it
/// with a signal, kills it if a test leaves it running.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostProcess(Process process, string readyPrefix)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout) _stdout.AppendLine(e.Data);
            if (e.Data.StartsWith(readyPrefix, StringComparison.Ordinal)) _ready.TrySetResult(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static HostProcess Start(BuildFarmCli cli, string readyPrefix, params string[] args)
    {
        var process = cli.Start(args);
        process.StandardInput.Close();
        return new HostProcess(process, readyPrefix);
    }

    /// <summary>The ready line; throws with the output when the process exits or the time runs out first.</summary>
    public async Task<string> ReadyAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_ready.Task, exited, Task.Delay(timeout));
        if (first == _ready.Task) return await _ready.Task;
        throw new InvalidOperationException(
            $"no ready line ({(_process.HasExited ? $"exited {_process.ExitCode}" : $"not within {timeout.TotalSeconds:0} s")})\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
    }

    /// <summary>Waits for the exit; the code, or null when it did not exit in time.</summary>
    public async Task<int?> ExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cancel.Token); }
        catch (OperationCanceledException) { return null; }
        return _process.ExitCode;
    }

    public async Task SignalAsync(string signal) => await BuildFarmCli.ToolAsync("kill", "-" + signal, _process.Id.ToString());

    public override string ToString() => $"--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    /// <summary>SIGKILL: the node gets no chance to leave.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
