using System.Diagnostics;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// The Native AOT client (client/), published once per test run into out/client-test (an up-to-date publish is
/// incremental), so a clean clone's test run compiles it too.
/// </summary>
public sealed class NativeClientFixture
{
    public NativeClientFixture()
    {
        var root = ExampleContext.RepositoryRoot;
        var output = Path.Combine(root, "out", "client-test");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        foreach (var arg in new[] { "publish", Path.Combine(root, "client", "BuildFarm.Client.csproj"), "-c", "Release", "-o", output, "-nologo", "-v", "q" })
            start.ArgumentList.Add(arg);
        // The test host's MSBuild variables would point the child build at the test's own project.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(name);
        using var publish = Process.Start(start)!;
        var stdout = publish.StandardOutput.ReadToEndAsync();
        var stderr = publish.StandardError.ReadToEndAsync();
        if (!publish.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            publish.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet publish client did not finish in 10 minutes");
        }
        if (publish.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish client exited {publish.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        BinaryPath = Path.Combine(output, "buildfarm");
    }

    /// <summary>The native <c>buildfarm</c> executable.</summary>
    public string BinaryPath { get; }
}
