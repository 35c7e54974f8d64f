using System.Diagnostics;
using System.Text;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>
/// A child process whose stdout and stderr lines are kept as they arrive, so a test can wait for one line (a ready
/// line, a step that started) while the process runs, and show everything it said when something goes wrong.
/// </summary>
public sealed class CapturedProcess : IDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly StringBuilder _all = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CapturedProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        Pid = process.Id;
        Started = Stopwatch.StartNew();
        process.OutputDataReceived += (_, e) => OnLine(e.Data, _stdout, _stdoutClosed);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, _stderr, _stderrClosed);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Pid { get; }

    /// <summary>Time since the process was started.</summary>
    public Stopwatch Started { get; }

    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Stdout { get { lock (_gate) return string.Join('\n', _stdout); } }
    public string Stderr { get { lock (_gate) return string.Join('\n', _stderr); } }

    /// <summary>Everything the process said so far, both streams interleaved in arrival order (for messages).</summary>
    public string Transcript { get { lock (_gate) return _all.ToString(); } }

    private void OnLine(string? line, List<string> stream, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            if (!_stdoutClosed.Task.IsCompleted || !_stderrClosed.Task.IsCompleted) return;
            List<TaskCompletionSource<string>> orphans;
            lock (_gate)
            {
                orphans = [.. _waiters.Select(w => w.Found)];
                _waiters.Clear();
            }
            foreach (var tcs in orphans) tcs.TrySetException(Ended());
            return;
        }
        List<TaskCompletionSource<string>> found = [];
        lock (_gate)
        {
            stream.Add(line);
            _all.Append(line).Append('\n');
            foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
            {
                found.Add(waiter.Found);
                _waiters.Remove(waiter);
            }
        }
        foreach (var tcs in found) tcs.TrySetResult(line);
    }

    private InvalidOperationException Ended() =>
        new($"{Name} (pid {Pid}) closed its output before the line a test waited for; it said:\n{Transcript}");

    /// <summary>The first line (seen before or after this call, on either stream) that matches; fails when the
    /// process ends first or the time runs out, with everything the process said.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var seen = _stdout.Concat(_stderr).FirstOrDefault(match);
            if (seen is not null) return seen;
            if (_stdoutClosed.Task.IsCompleted && _stderrClosed.Task.IsCompleted) throw Ended();
            _waiters.Add((match, found));
        }
        try
        {
            return await found.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            lock (_gate) _waiters.RemoveAll(w => w.Found == found);
            throw new TimeoutException($"{Name} (pid {Pid}) printed no such line within {timeout.TotalSeconds:0} s; it said:\n{Transcript}");
        }
    }

    /// <summary>Waits for the exit and the end of both streams; null when the time runs out (the process still runs).</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(TimeSpan.FromSeconds(10));
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (TimeoutException)
        {
            return _process.ExitCode; // a grandchild holds the pipes open; the process itself is gone
        }
    }

    /// <summary>SIGKILL to this one process (not its tree: a killed worker leaves its runc children, as a crash does).</summary>
    public async Task KillAsync()
    {
        try { _process.Kill(entireProcessTree: false); }
        catch (InvalidOperationException) { } // already gone
        await _process.WaitForExitAsync();
    }

    /// <summary>Sends a signal by name (TERM, INT) with kill(1).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", Pid.ToString()]) { UseShellExecute = false })
                         ?? throw new InvalidOperationException("could not run kill");
        await kill.WaitForExitAsync();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }
        _process.Dispose();
    }
}
