namespace BuildFarm.IntegrationTests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class InsecureEntitlementTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string InsecureContext() => _scratch.Context("insecure", """
        FROM scratch
        ADD rootfs.tar /
        RUN echo step-ran-$((1+1))
        RUN --security=insecure mkdir -p /m && mount -t tmpfs none /m && echo mounted && umount /m
        """);

    [Fact]
    public async Task Insecure_run_without_the_entitlement_is_refused_naming_it_and_the_line()
    {
        var result = await _scratch.Cli.BuildAsync(InsecureContext());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("security.insecure is not allowed", result.Stderr);
        Assert.Contains("Dockerfile:4", result.Stderr);
        Assert.DoesNotContain("step-ran-2", result.Stderr); // refused before any step ran
    }

    [Fact]
    public async Task Insecure_run_with_allow_security_insecure_runs_privileged()
    {
        var result = await _scratch.Cli.BuildAsync("--allow", "security.insecure", InsecureContext());

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("mounted", result.Stderr);
    }

    [Fact]
    public async Task Unknown_entitlement_is_a_usage_error()
    {
        var result = await _scratch.Cli.BuildAsync("--allow", "network.everything", InsecureContext());

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--allow network.everything: unknown entitlement", result.Stderr);
    }
}
