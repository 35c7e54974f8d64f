using System.Runtime.InteropServices;

namespace BuildFarm.Cli.Engine;

/// <summary>A resident engine seen as a process by its pid: alive, really an engine (not a reused pid), signaled.</summary>
public static partial class EngineProcess
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    /// <summary>True while the process exists and is not a zombie (an engine nobody reaps still counts as gone).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // the state follows the command name in parentheses, which may itself hold spaces or parentheses
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            return state is not ('Z' or 'X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="pid"/> is alive and runs <c>buildfarm serve --socket</c>: a record whose pid
    /// was reused by another program is stale, and that program is never signaled.</summary>
    public static bool IsEngine(int pid)
    {
        if (!IsAlive(pid)) return false;
        try
        {
            var arguments = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            return arguments.Contains("serve") && arguments.Contains("--socket");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM (the engine leaves its cluster and removes its record), SIGKILL after <paramref name="grace"/>.
    /// True when it stopped.</summary>
    public static async Task<bool> StopAsync(int pid, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (!IsEngine(pid)) return true;
        Kill(pid, SigTerm);
        if (await WaitForExitAsync(pid, grace, cancellationToken)) return true;
        Kill(pid, SigKill);
        return await WaitForExitAsync(pid, TimeSpan.FromSeconds(10), cancellationToken);
    }

    public static void KillNow(int pid)
    {
        if (IsEngine(pid)) Kill(pid, SigKill);
    }

    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsAlive(pid))
        {
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(50, cancellationToken);
        }
        return true;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
#pragma warning disable SYSLIB1054 // two ints: no marshalling to generate, and this project has no unsafe blocks
    private static extern int Kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}
