using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BuildFarm.Worker.FileOps;

namespace BuildFarm.Worker.Execution;

/// <summary>Runs a container with <c>runc run</c> (no terminal) from a generated bundle; stdout and stderr are
/// read line by line. Cancellation sends SIGKILL through <c>runc kill</c> and force-deletes the container.
/// Containers are tied to this process: a watchdog deletes them when it dies, and the next executor on the same
/// state root removes whatever a dead process still left (containers, bundles).</summary>
public sealed partial class RuncExecutor : IExecutor
{
    private readonly RuncOptions options;
    private readonly Lazy<Task> _started;
    // Container ids are bf-{pid}-{this executor}-…: the watchdog of an executor sweeps only its own (tests and hosts may
    // run several executors on one state root in one process).
    private readonly string _prefix = $"bf-{Environment.ProcessId}-{Guid.NewGuid():N}"[..^26] + "-";
    // Held for the executor's lifetime: collecting it would close the pipe and make the watchdog sweep live containers.
    private RuncWatchdog? _watchdog;

    public RuncExecutor(RuncOptions options)
    {
        this.options = options with { Limits = options.Limits.Validated() };
        _started = new Lazy<Task>(async () =>
        {
            await RemoveOrphansAsync(CancellationToken.None);
            _watchdog = RuncWatchdog.Start(this.options, _prefix);
        });
    }

    /// <summary>Kills and deletes containers that a crashed worker process left in the state root, and removes
    /// their bundles (ids and bundle folders carry the creating process id). Runs by itself before this executor's first step.</summary>
    public async Task RemoveOrphansAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(options.StateRoot))
        {
            foreach (var dir in Directory.EnumerateDirectories(options.StateRoot))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var id = Path.GetFileName(dir);
                if (OwnerIsGone(id)) await RuncQuietAsync("delete", "--force", id);
            }
        }
        if (Directory.Exists(options.BundleRoot))
        {
            foreach (var bundle in Directory.EnumerateDirectories(options.BundleRoot))
                if (OwnerIsGone(Path.GetFileName(bundle))) Snapshots.CrashLeftovers.RemoveTree(bundle); // its tmpfs first
        }
    }

    /// <summary>Whether a container id or bundle name (<c>bf-{pid}-…</c>) belongs to a process that no longer runs.</summary>
    private static bool OwnerIsGone(string id)
    {
        var parts = id.Split('-');
        if (parts.Length < 3 || parts[0] != "bf" || !int.TryParse(parts[1], out var pid)) return false;
        return pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}");
    }

    public async Task<int> RunAsync(ContainerSpec spec, IProgress<OutputLine>? output, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await _started.Value.WaitAsync(cancellationToken);
        var id = $"{_prefix}{Guid.NewGuid():N}"[..32];
        var bundle = Path.Combine(options.BundleRoot, id);
        // config.json holds the step's environment (secret env values included): owner-only, and on a tmpfs so that
        // it never reaches a disk
        Directory.CreateDirectory(options.BundleRoot);
        Native.LinuxNative.ChmodOrThrow(options.BundleRoot, 0b111_000_000);
        Directory.CreateDirectory(bundle);
        Native.LinuxNative.ChmodOrThrow(bundle, 0b111_000_000);
        Directory.CreateDirectory(options.StateRoot);
        try
        {
            Native.LinuxNative.MountOrThrow("tmpfs", bundle, "tmpfs", Native.LinuxNative.MsNosuid | Native.LinuxNative.MsNodev, "mode=0700,size=64m");
            var config = RuntimeConfig.Build(spec, options.Limits.Clamp(spec.Limits).Validated(), $"{options.CgroupParent}/{id}");
            if (!spec.HostNetwork && File.Exists(options.NsenterPath) && File.Exists(options.IpPath))
                config["hooks"] = LoopbackHook();
            var configPath = Path.Combine(bundle, "config.json");
            await using (var file = new FileStream(configPath, FileMode.CreateNew, FileAccess.Write))
            {
                Native.LinuxNative.ChmodOrThrow(configPath, 0b110_000_000); // before a byte is written
                await JsonSerializer.SerializeAsync(file, config, new JsonSerializerOptions { WriteIndented = true }, cancellationToken);
            }

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

            var runtimeErrors = new List<string>();
            var pumps = Task.WhenAll(
                Pump(runc.StandardOutput, OutputStream.Stdout, output, null),
                Pump(runc.StandardError, OutputStream.Stderr, output, runtimeErrors));
            try
            {
                await runc.WaitForExitAsync(cancellationToken);
                await pumps;
                if (runc.ExitCode != 0 && runtimeErrors.Count > 0)
                    throw new ContainerStartException($"runc could not start the step ({string.Join(' ', spec.Args)}): {string.Join("; ", runtimeErrors)}");
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
            Snapshots.CrashLeftovers.RemoveTree(bundle);
        }
    }

    /// <summary>A createRuntime hook: runs on the host once the namespaces exist, reads the container's pid from the
    /// state JSON on stdin and sets lo up inside its network namespace.</summary>
    private JsonObject LoopbackHook()
    {
        var script = "p=$(sed -n 's/.*\"pid\": *\\([0-9][0-9]*\\).*/\\1/p'); exec " + options.NsenterPath + " -t \"$p\" -n " + options.IpPath + " link set lo up";
        var hook = new JsonObject
        {
            ["path"] = "/bin/sh",
            ["args"] = new JsonArray("sh", "-c", script),
            ["timeout"] = 10,
        };
        return new JsonObject { ["createRuntime"] = new JsonArray(hook) };
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

    private static async Task Pump(StreamReader reader, OutputStream stream, IProgress<OutputLine>? output, List<string>? runtimeErrors)
    {
        await foreach (var line in ReadLinesAsync(reader))
        {
            // runc's own failures (logrus lines on its stderr) are errors of the step, not its output
            if (runtimeErrors is not null && RuncErrorLine().Match(line) is { Success: true } m)
            {
                runtimeErrors.Add(m.Groups[1].Value.Replace("\\\"", "\""));
                continue;
            }
            output?.Report(new OutputLine(DateTimeOffset.UtcNow, stream, line));
        }
    }

    /// <summary>Lines split at '\n' (a trailing '\r' dropped); a line longer than <see cref="MaxLineLength"/> is cut
    /// into pieces so a step printing without newlines cannot exhaust the worker's memory.</summary>
    private static async IAsyncEnumerable<string> ReadLinesAsync(StreamReader reader)
    {
        var buffer = new char[4096];
        var line = new System.Text.StringBuilder();
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] == '\n')
                {
                    if (line.Length > 0 && line[^1] == '\r') line.Length--;
                    yield return line.ToString();
                    line.Clear();
                }
                else
                {
                    line.Append(buffer[i]);
                    if (line.Length >= MaxLineLength) { yield return line.ToString(); line.Clear(); }
                }
            }
        }
        if (line.Length > 0) yield return line.ToString();
    }

    private const int MaxLineLength = 16384;

    [GeneratedRegex("^time=\"[^\"]*\" level=(?:error|fatal) msg=\"(.*)\"$")]
    private static partial Regex RuncErrorLine();
}
