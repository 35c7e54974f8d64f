using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.TestSupport;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Issue 17, item 5: wrong S3 keys against the real server are one clear line naming the endpoint and the
/// bucket, promptly (a refused signature is not an outage worth retrying); the worker-side failure is one log line,
/// its stack kept only by <c>--debug</c>.</summary>
[Collection(S3ServerCollection.Name)]
public sealed class S3WrongKeysTests(S3ServerFixture server, ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("nosuchaccesskey00001", S3ServerFixture.SecretKey)] // InvalidAccessKeyId
    [InlineData(S3ServerFixture.AccessKey, "wrongsecret00000000000000000000000000001")] // SignatureDoesNotMatch
    public async Task Build_with_wrong_S3_keys_prints_one_line_naming_endpoint_and_bucket(string accessKey, string secretKey)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await BuildWithKeysAsync(accessKey, secretKey);

        Assert.NotEqual(0, result.ExitCode);
        var errors = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("ERROR", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(errors);
        Assert.Contains(server.Endpoint, line);
        Assert.Contains("bucket wrongkeys", line);
        Assert.Contains("credentials", line);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Worker_failure_logs_one_line_and_debug_keeps_the_stack_in_the_engine_log()
    {
        var plain = await BuildWithKeysAsync("nosuchaccesskey00002", S3ServerFixture.SecretKey);
        var log = Path.Combine(_dir.Path, "home", "logs", "engine.log");
        Assert.NotEqual(0, plain.ExitCode);
        Assert.Contains("failed on worker", plain.Stdout); // the worker's error event, as one line
        Assert.DoesNotContain("   at ", plain.Stdout + plain.Stderr);
        Assert.False(File.Exists(log), "an engine log was written without --debug");

        var debug = await BuildWithKeysAsync("nosuchaccesskey00002", S3ServerFixture.SecretKey, "--debug");
        Assert.NotEqual(0, debug.ExitCode);
        Assert.DoesNotContain("   at ", debug.Stdout);
        var kept = await File.ReadAllTextAsync(log);
        Assert.Contains("failed on worker", kept);
        Assert.Contains("   at BuildFarm.Cache.", kept);
    }

    private async Task<BuildFarmCli.Result> BuildWithKeysAsync(string accessKey, string secretKey, params string[] extra)
    {
        var context = Path.Combine(_dir.Path, "ctx");
        Directory.CreateDirectory(context);
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), "FROM scratch\nCOPY a.txt /a.txt\n");
        await File.WriteAllTextAsync(Path.Combine(context, "a.txt"), "a\n");
        var cli = new BuildFarmCli(Path.Combine(_dir.Path, "home"));
        cli.Environment["BUILDFARM_CACHE"] = $"s3://wrongkeys?endpoint={Uri.EscapeDataString(server.Endpoint)}";
        cli.Environment["AWS_ACCESS_KEY_ID"] = accessKey;
        cli.Environment["AWS_SECRET_ACCESS_KEY"] = secretKey;
        var result = await cli.BuildAsync([.. extra, "-o", $"type=oci,dest={Path.Combine(_dir.Path, "out.tar")}", context]);
        output.WriteLine(result.ToString());
        return result;
    }
}
