using BuildFarm.IntegrationTests.EndToEnd;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>
/// <c>--call=outline|targets[,format=json]</c> (issue 15): what buildfarm prints on stdout, byte for byte what buildx prints.
/// Compared with the committed goldens (no daemon); BUILDFARM_CONFORMANCE=live asks the BuildKit peer's buildx 0.13
/// (<c>BUILDX_EXPERIMENTAL=1 --print=…</c>) instead, regenerate rewrites the goldens from it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class CallsConformanceTests(BusyboxFixture busybox, ITestOutputHelper output) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Outline_and_targets_print_what_buildx_prints()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var mode = Environment.GetEnvironmentVariable("BUILDFARM_CONFORMANCE") ?? "golden";
        var peer = mode == "golden" ? null : await BuildKitPeer.StartAsync(ExampleContext.RepositoryRoot, timeout.Token);
        var provenance = peer is null ? "" : await peer.VersionAsync(timeout.Token);
        var cases = CallCase.LoadAll();
        Assert.NotEmpty(cases);
        var differing = new List<string>();
        foreach (var testCase in cases)
        {
            var context = Path.Combine(_scratch.Root, "call-" + testCase.Name);
            Directory.CreateDirectory(context);
            File.Copy(Path.Combine(testCase.ContextFolder, "Dockerfile"), Path.Combine(context, "Dockerfile"));
            string expected;
            if (peer is not null)
            {
                var (stdout, error) = await peer.CallAsync(context, testCase.Flags, timeout.Token);
                Assert.True(error is null, $"{testCase.Name}: buildx failed: {error}");
                expected = stdout!;
                if (mode == "regenerate") testCase.WriteGolden(expected, provenance);
            }
            else expected = testCase.ReadGolden();

            var ours = await _scratch.Cli.BuildAsync([.. testCase.Flags, context]);
            Assert.True(ours.ExitCode == 0, $"{testCase.Name}: {ours}");
            if (ours.Stdout != expected)
            {
                differing.Add(testCase.Name);
                output.WriteLine($"{testCase.Name} ({testCase.Covers}):\n--- buildx\n{expected}--- buildfarm\n{ours.Stdout}");
            }
        }
        Assert.True(differing.Count == 0, $"differ from buildx ({mode}): {string.Join(", ", differing)}");
    }

    [Fact]
    public async Task Outline_and_targets_through_a_server_print_the_goldens_too()
    {
        var server = new BuildFarmCli(Path.Combine(_scratch.Root, "server-home"));
        var address = $"127.0.0.1:{Infrastructure.FreeTcpPort.Next()}";
        await using var host = HostProcess.Start(server, "buildfarm serving on", "serve", "--listen", address);
        await host.ReadyAsync(TimeSpan.FromMinutes(1));
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
        foreach (var testCase in CallCase.LoadAll().Where(c => c.Name is "outline-target-build-args" or "targets-json"))
        {
            var context = Path.Combine(_scratch.Root, "served-" + testCase.Name);
            Directory.CreateDirectory(context);
            File.Copy(Path.Combine(testCase.ContextFolder, "Dockerfile"), Path.Combine(context, "Dockerfile"));

            var served = await client.BuildAsync(["--server", address, .. testCase.Flags, context]);

            Assert.True(served.ExitCode == 0, served + "\n" + host);
            Assert.Equal(testCase.ReadGolden(), served.Stdout);
        }
    }
}
