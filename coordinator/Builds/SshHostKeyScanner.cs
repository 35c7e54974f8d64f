using System.Diagnostics;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// The host keys of a git server over ssh, scanned when the build plans — as BuildKit's frontend does (sshutil.SSHKeyScan)
/// so that its git source trusts exactly those keys — with ssh-keyscan (Debian's openssh-client). Best effort, as there:
/// a server that does not answer in time gives no keys, and then git's ssh does not check them.
/// </summary>
public sealed class SshHostKeyScanner
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>known_hosts lines for <paramref name="host"/> (port 22 when <paramref name="port"/> is null), or "".</summary>
    public async Task<string> ScanAsync(string host, int? port, CancellationToken cancellationToken)
    {
        if (host.Length == 0 || host.StartsWith('-')) return ""; // never an option of ssh-keyscan
        var start = new ProcessStartInfo("ssh-keyscan") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-T", Math.Max(1, (int)Timeout.TotalSeconds).ToString() }) start.ArgumentList.Add(a);
        if (port is { } p)
        {
            start.ArgumentList.Add("-p");
            start.ArgumentList.Add(p.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        start.ArgumentList.Add(host);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return ""; // no ssh-keyscan here: as a server that did not answer
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout + TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                return "";
            }
            await stderr;
            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => !l.StartsWith('#'));
            return string.Join('\n', lines);
        }
    }
}
