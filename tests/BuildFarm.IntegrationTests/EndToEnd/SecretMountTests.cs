namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Secret mounts written without <c>id=</c> reach RUN through <c>buildfarm build</c> as BuildKit resolves them:
/// <c>src=</c> names the secret, else the target's base name does.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class SecretMountTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Secret_named_by_src_or_by_the_targets_base_name_reaches_run()
    {
        var context = _scratch.Context("secret-ids", """
            FROM scratch
            ADD rootfs.tar /
            RUN --mount=type=secret,src=npmrc,required --mount=type=secret,target=/run/x/netrc,required \
                test "$(cat /run/secrets/npmrc)" = npm-token && wc -c < /run/x/netrc > /len
            CMD ["cat", "/len"]
            """);
        var npmrc = Path.Combine(_scratch.Root, "npmrc.txt");
        var netrc = Path.Combine(_scratch.Root, "netrc.txt");
        await File.WriteAllTextAsync(npmrc, "npm-token");
        await File.WriteAllTextAsync(netrc, "machine-token");

        var build = await _scratch.Cli.BuildAsync("--secret", $"id=npmrc,src={npmrc}", "--secret", $"id=netrc,src={netrc}",
            "-t", "secret-ids", context);

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal("13", (await _scratch.Cli.RunAsync("run", "secret-ids")).Stdout.Trim());
    }
}
