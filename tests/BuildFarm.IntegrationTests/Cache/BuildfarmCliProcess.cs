using System.Diagnostics;

namespace BuildFarm.IntegrationTests.Cache;

/// <summary>The real <c>buildfarm</c> command as a child process (a writer that can be killed mid-upload).</summary>
public static class BuildfarmCliProcess
{
    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "buildfarm.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
    }

    /// <summary>Polls until <paramref name="condition"/> holds; false if the process exits or the time runs out first.</summary>
    public static async Task<bool> WaitUntilAsync(Process process, Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await condition()) return true;
            if (process.HasExited) return false;
            await Task.Delay(10);
        }
        return false;
    }

    public static async Task KillAsync(Process process)
    {
        // SIGKILL to the one process (the dotnet host runs the app in-process); enumerating a process tree first
        // would give the writer time to finish.
        process.Kill();
        await process.WaitForExitAsync();
    }

    public static async Task<string> WriteRandomFileAsync(string path, int megabytes)
    {
        var buffer = new byte[1 << 20];
        var random = new Random(megabytes);
        await using var file = File.Create(path);
        for (var i = 0; i < megabytes; i++)
        {
            random.NextBytes(buffer);
            await file.WriteAsync(buffer);
        }
        return path;
    }
}
