namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Issue 17, item 5: a failure no command turned into a result is one line; <c>--debug</c> adds the stack.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CliFailureLineTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Unexpected_failure_prints_one_error_line_and_debug_prints_the_stack()
    {
        _scratch.Cli.Environment["BUILDFARM_CACHE"] = "bogus";

        var plain = await _scratch.Cli.RunAsync("cache", "du");
        var debug = await _scratch.Cli.RunAsync("cache", "du", "--debug");

        Assert.Equal(1, plain.ExitCode);
        var line = Assert.Single(plain.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ERROR: invalid cache store spec 'bogus'", line);
        Assert.DoesNotContain("Unhandled exception", plain.Stderr);
        Assert.Equal(1, debug.ExitCode);
        Assert.Contains("   at BuildFarm.Cache.ContentStoreOptions.Parse", debug.Stderr);
    }
}
