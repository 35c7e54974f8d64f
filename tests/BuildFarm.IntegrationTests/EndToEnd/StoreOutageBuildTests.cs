using System.Diagnostics;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.TestSupport;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>buildfarm build</c> against an S3 cache that is down for the whole build: the build ends with an
/// error naming the endpoint within the configured store timeout (plus process start and a small margin).</summary>
[Collection(S3ServerCollection.Name)]
public sealed class StoreOutageBuildTests(S3ServerFixture server, ITestOutputHelper output) : IDisposable
{
    // Long enough that a build paying it once per store call (record lookup, miss explanation, layer upload, ...)
    // overshoots the margin below: the budget must be spent once per build, not once per call.
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(8);

    // Process start, the one-node cluster, planning, and one request timeout per later call once the store is known down.
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(8);

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Build_with_no_store_listening_fails_naming_the_endpoint_within_the_timeout()
    {
        var endpoint = $"http://127.0.0.1:{FreeTcpPort.Next()}"; // nothing listens: connection refused on every attempt
        var (result, elapsed) = await BuildAgainstAsync(endpoint);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(endpoint, result.Stderr);
        Assert.Contains("unavailable", result.Stderr);
        Assert.True(elapsed < StoreTimeout + Margin, $"took {elapsed}\n{result}");
    }

    [Fact]
    public async Task Build_with_a_store_that_accepts_and_then_stalls_fails_naming_the_endpoint_within_the_timeout()
    {
        // Connections are accepted and forwarded to the real server, but no request byte gets through.
        await using var proxy = new S3StallingProxy(new Uri(server.Endpoint).Port, budget: 0);
        var (result, elapsed) = await BuildAgainstAsync(proxy.Endpoint);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(proxy.Endpoint, result.Stderr);
        Assert.Contains("unavailable", result.Stderr);
        Assert.True(elapsed < StoreTimeout + Margin, $"took {elapsed}\n{result}");
    }

    private async Task<(BuildFarmCli.Result Result, TimeSpan Elapsed)> BuildAgainstAsync(string endpoint)
    {
        var context = Path.Combine(_dir.Path, "ctx");
        Directory.CreateDirectory(context);
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), "FROM scratch\nCOPY a.txt /a.txt\n");
        await File.WriteAllTextAsync(Path.Combine(context, "a.txt"), "a\n");
        var cli = new BuildFarmCli(Path.Combine(_dir.Path, "home"));
        cli.Environment["BUILDFARM_CACHE"] =
            $"s3://outage?endpoint={Uri.EscapeDataString(endpoint)}&timeout={StoreTimeout.TotalSeconds}&request-timeout=1";
        cli.Environment["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey;
        cli.Environment["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey;
        var clock = Stopwatch.StartNew();
        var result = await cli.BuildAsync("-o", $"type=oci,dest={Path.Combine(_dir.Path, "out.tar")}", context);
        output.WriteLine($"build against {endpoint} ended in {clock.Elapsed.TotalSeconds:0.0} s with exit code {result.ExitCode}");
        return (result, clock.Elapsed);
    }
}
