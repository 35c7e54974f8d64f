namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>A <c>buildfarm build --server</c> client process in flight: its output can be watched while it runs.</summary>
public sealed class ClientBuild(CapturedProcess process, string server, string iidFile) : IDisposable
{
    public CapturedProcess Process { get; } = process;

    /// <summary>The coordinator this client talks to.</summary>
    public string Server { get; } = server;

    /// <summary>Waits until the plain progress shows a step whose name contains <paramref name="text"/> (its start).</summary>
    public Task WaitForStepAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Process.WaitForLineAsync(l => l.StartsWith('#') && l.Contains(text, StringComparison.Ordinal), timeout, cancellationToken);

    /// <summary>Waits for the client to end; a client still running after <paramref name="timeout"/> is a hang: it is
    /// killed and the test fails with what it printed.</summary>
    public async Task<ClientBuildResult> FinishAsync(TimeSpan timeout)
    {
        var exit = await Process.WaitForExitAsync(timeout);
        if (exit is null)
        {
            await Process.KillAsync();
            throw new TimeoutException($"build --server {Server} did not end within {timeout.TotalSeconds:0} s (a hang); it printed:\n{Process.Transcript}");
        }
        var digest = File.Exists(iidFile) ? (await File.ReadAllTextAsync(iidFile)).Trim() : null;
        return new ClientBuildResult(exit.Value, Process.Stdout, Process.Stderr, digest, Process.Started.Elapsed);
    }

    public void Dispose() => Process.Dispose();
}
