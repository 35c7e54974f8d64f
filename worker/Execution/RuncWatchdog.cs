using System.Diagnostics;

namespace BuildFarm.Worker.Execution;

/// <summary>
/// A small shell beside this process that outlives it: it reads a pipe this process holds open, and when the pipe
/// closes — this process exited or was killed, even by SIGKILL, or the executor was collected — it force-deletes
/// the executor's containers (ids starting with its prefix) and their bundles. <c>runc run</c> does not take its container down when it dies itself, so without this a crashed
/// build would leave its RUN step running until the next start on the same state root.
/// </summary>
internal sealed class RuncWatchdog : IDisposable
{
    // Signals aimed at the terminal's process group (Ctrl-C) must not take the watchdog down with the build.
    private const string Script = """
        trap '' INT TERM HUP QUIT PIPE
        exec >/dev/null 2>&1
        while read -r _; do :; done
        for id in $("$1" --root "$2" list -q); do
          case "$id" in "$4"*) "$1" --root "$2" delete --force "$id" ;; esac
        done
        for b in "$3"/"$4"*; do [ -d "$b" ] || continue; umount -l "$b"; rm -rf "$b"; done
        """;

    private readonly Process _shell;

    private RuncWatchdog(Process shell) => _shell = shell;

    public static RuncWatchdog Start(RuncOptions options, string idPrefix)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true, // the pipe whose closing means "the owner is gone"
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-c", Script, "buildfarm-runc-watchdog", options.RuncPath, options.StateRoot, options.BundleRoot, idPrefix })
            start.ArgumentList.Add(a);
        return new RuncWatchdog(Process.Start(start) ?? throw new InvalidOperationException("could not start /bin/sh for the runc watchdog"));
    }

    /// <summary>Closes the pipe: the watchdog sweeps now (this process's containers are already gone when it is idle) and exits.</summary>
    public void Dispose()
    {
        _shell.StandardInput.Close();
        _shell.Dispose();
    }
}
