using System.Diagnostics;
using System.Text.Json;
using BuildFarm.Worker.FileOps;

namespace BuildFarm.Worker.Execution;

/// <summary>Runs a container with <c>runc run</c> (no terminal) from a generated bundle; stdout and stderr are
/// read line by line. Cancellation sends SIGKILL through <c>runc kill</c> and force-deletes the container.</summary>
public sealed class RuncExecutor(RuncOptions options) : IExecutor
{
    public async Task<int> RunAsync(ContainerSpec spec, IProgress<OutputLine>? output, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = $"bf-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32];
        var bundle = Path.Combine(options.BundleRoot, id);
        Directory.CreateDirectory(bundle);
        Directory.CreateDirectory(options.StateRoot);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"),
                RuntimeConfig.Build(spec).ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken);

            var start = new ProcessStartInfo(options.RuncPath)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "--root", options.StateRoot, "run", "--bundle", bundle, id }) start.ArgumentList.Add(a);
            using var runc = Process.Start(start) ?? throw new InvalidOperationException($"could not start {options.RuncPath}");
            runc.StandardInput.Close(); // the step reads EOF from stdin, as with docker build

            var pumps = Task.WhenAll(
                Pump(runc.StandardOutput, OutputStream.Stdout, output),
                Pump(runc.StandardError, OutputStream.Stderr, output));
            try
            {
                await runc.WaitForExitAsync(cancellationToken);
                await pumps;
                return runc.ExitCode;
            }
            catch (OperationCanceledException)
            {
                await KillAsync(id, runc);
                throw;
            }
        }
        finally
        {
            await RuncQuietAsync("delete", "--force", id);
            TreeRemover.Remove(bundle);
        }
    }

    private async Task KillAsync(string id, Process runc)
    {
        await RuncQuietAsync("kill", id, "KILL");
        using var timeout = new CancellationTokenSource(options.KillTimeout);
        try { await runc.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            // runc itself did not return (e.g. still creating): kill it, the delete below removes the container
            try { runc.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
    }

    private async Task RuncQuietAsync(params string[] args)
    {
        var start = new ProcessStartInfo(options.RuncPath)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add("--root");
        start.ArgumentList.Add(options.StateRoot);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        await Task.WhenAll(p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync(), p.WaitForExitAsync());
    }

    private static async Task Pump(StreamReader reader, OutputStream stream, IProgress<OutputLine>? output)
    {
        while (await reader.ReadLineAsync() is { } line)
            output?.Report(new OutputLine(DateTimeOffset.UtcNow, stream, line));
    }
}
