using BuildFarm.IntegrationTests.Infrastructure;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm serve` hands its worker the build context by manifest digest: the worker materializes it from the
/// store under its own folder and never reads the coordinator's copy of the upload.</summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ServeContextThroughStoreTests(BusyboxFixture busybox) : IDisposable
{
    private const string Epoch = "1700000000";

    private const string Dockerfile = """
        FROM scratch
        ADD rootfs.tar /
        COPY app/ /app/
        ADD note.txt /note.txt
        COPY . /all/
        RUN test ! -e /all/secret.env && test -f /all/app/main.sh && cat /note.txt
        """;

    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Served_copy_and_add_read_the_context_from_the_store_without_ignored_files_and_match_the_embedded_layers()
    {
        var context = _scratch.Context("ctx", Dockerfile, ("app/main.sh", "echo main\n"), ("note.txt", "a note\n"),
            ("secret.env", "TOKEN=do-not-ship\n"), (".dockerignore", "secret.env\n"));
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        BuildFarmCli.Result served;
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home")) { Environment = { ["SOURCE_DATE_EPOCH"] = Epoch } };
            served = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--iidfile", Path.Combine(_scratch.Root, "served.iid"), context);
            Assert.True(served.ExitCode == 0, served.ToString());
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
        }
        Assert.True(server.ExitCode == 0, await stderr);

        // The worker's own materialized copy of the published manifest is what the COPY/ADD steps read (a worker
        // given the coordinator's folder would have materialized nothing), and the ignored file never reached it.
        // One build, one published context manifest: the folder named by its digest.
        var materialized = Assert.Single(Directory.GetDirectories(Path.Combine(_scratch.Home, "worker", "ctx")),
            d => Digest.TryParse("sha256:" + Path.GetFileName(d), out _));
        var trees = Directory.GetDirectories(materialized).Select(d => Path.Combine(d, "tree")).ToArray();
        Assert.Contains(trees, t => File.Exists(Path.Combine(t, "app/main.sh")) && File.Exists(Path.Combine(t, "Dockerfile")));
        Assert.All(trees, t => Assert.False(File.Exists(Path.Combine(t, "secret.env"))));

        var embeddedCli = new BuildFarmCli(Path.Combine(_scratch.Root, "embedded-home")) { Environment = { ["SOURCE_DATE_EPOCH"] = Epoch } };
        var embedded = await embeddedCli.BuildAsync("--iidfile", Path.Combine(_scratch.Root, "embedded.iid"), context);
        Assert.True(embedded.ExitCode == 0, embedded.ToString());
        Assert.False(Directory.Exists(Path.Combine(embeddedCli.Home, "worker", "ctx"))); // embedded builds read the folder in place

        var servedLayers = await LayersAsync(_scratch.Home, await File.ReadAllTextAsync(Path.Combine(_scratch.Root, "served.iid")));
        var embeddedLayers = await LayersAsync(embeddedCli.Home, await File.ReadAllTextAsync(Path.Combine(_scratch.Root, "embedded.iid")));
        Assert.Equal(5, servedLayers.Count);
        Assert.Equal(embeddedLayers, servedLayers);
    }

    private static async Task<List<string>> LayersAsync(string home, string manifestDigest)
    {
        var store = new LocalContentStore(Path.Combine(home, "cache"));
        await using var stream = await store.OpenAsync(Digest.Parse(manifestDigest.Trim()));
        using var json = await JsonDocument.ParseAsync(stream);
        return [.. json.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!)];
    }

}
