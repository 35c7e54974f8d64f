using System.Diagnostics;
using System.Text;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Runs the built <c>buildfarm</c> command as a child process with its own BUILDFARM_HOME.</summary>
public sealed class BuildFarmCli(string home)
{
    public string Home { get; } = home;
    public Dictionary<string, string> Environment { get; } = [];

    public static string CommandPath => Path.Combine(AppContext.BaseDirectory, "buildfarm.dll");

    /// <summary>An executable to run instead of <c>dotnet buildfarm.dll</c> (the native client).</summary>
    public string? Executable { get; init; }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public Process Start(params string[] args)
    {
        // A test host started from a non-interactive background job inherits SIGINT as ignored, and so would the
        // command: env (which execs, keeping the pid) restores the default so tests that send SIGINT see what a user sees.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=INT");
        if (Executable is { } executable)
            start.ArgumentList.Add(executable);
        else
        {
            start.ArgumentList.Add("dotnet");
            start.ArgumentList.Add(CommandPath);
        }
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["BUILDFARM_HOME"] = Home;
        start.Environment.Remove("BUILDFARM_CACHE");
        start.Environment["CI"] = "true";
        // Builds run in the command's own process unless a test asks for the resident engine: a test leaves no
        // engine behind, and one test's engine never serves another's (ResidentEngineTests set "resident").
        start.Environment["BUILDFARM_ENGINE"] = "embedded";
        foreach (var (k, v) in Environment) start.Environment[k] = v;
        return Process.Start(start)!;
    }

    public async Task<Result> RunAsync(params string[] args)
    {
        using var process = Start(args);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"buildfarm {string.Join(' ', args)} did not finish in 4 minutes");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public async Task<Result> BuildAsync(params string[] args)
    {
        var result = await RunAsync(["build", "--progress", "plain", .. args]);
        return result;
    }

    /// <summary>Runs a command line tool (skopeo, umoci, tar) and returns its output; throws with its stderr on failure.</summary>
    public static async Task<string> ToolAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
