using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm serve` over a real S3 server: the worker fetches the context's blobs through its own local LRU
/// blob cache in front of the shared store, and its layers go through that cache to the store.</summary>
[Collection(S3ServerCollection.Name)]
public sealed class ServeS3ContextTests : IDisposable
{
    private readonly S3ServerFixture _s3;
    private readonly BusyboxRootfs _busybox = new();
    private readonly ExampleContext _scratch;

    public ServeS3ContextTests(S3ServerFixture s3)
    {
        _s3 = s3;
        _scratch = new ExampleContext(_busybox);
    }

    public void Dispose()
    {
        _scratch.Dispose();
        _busybox.Dispose();
    }

    [Fact]
    public async Task Served_copy_over_s3_fetches_the_context_through_the_worker_blob_cache()
    {
        const string script = "echo served-over-s3\n";
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nCOPY app/ /app/\nRUN sh /app/main.sh\n", ("app/main.sh", script));
        _scratch.Cli.Environment["BUILDFARM_CACHE"] =
            $"s3://buildfarm-test?endpoint={Uri.EscapeDataString(_s3.Endpoint)}&namespace=t{Guid.NewGuid():N}";
        _scratch.Cli.Environment["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey;
        _scratch.Cli.Environment["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey;
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}", "--worker-cache-mb", "256");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            var first = await client.BuildAsync("--server", $"127.0.0.1:{port}", context);
            Assert.True(first.ExitCode == 0, first.ToString());
            Assert.Contains("served-over-s3", first.Stderr);

            var second = await client.BuildAsync("--server", $"127.0.0.1:{port}", context);
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.Equal(3, new PlainProgress(second.Stderr).Cached.Count);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
        }
        Assert.True(server.ExitCode == 0, await stderr);

        var workerBlobs = new LocalContentStore(Path.Combine(_scratch.Home, "worker", "blobs"));
        var scriptDigest = Digest.Parse("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(script))));
        Assert.True(await workerBlobs.ExistsAsync(scriptDigest), "the context file did not come through the worker's local blob cache");
    }

}
