using System.Diagnostics;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using BuildFarm.Oci.Registry;

namespace BuildFarm.IntegrationTests.Oci;

/// <summary>A registry that accepts and then stalls: every call ends within its bounds with an error naming it.</summary>
public sealed class RegistryStallTests
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(1);

    private static RegistryClient Client() => new(new RegistryClientOptions
    {
        MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(20), RequestTimeout = RequestTimeout,
    });

    [Fact]
    public async Task A_registry_that_never_answers_fails_after_its_attempts_naming_the_address()
    {
        await using var server = new StallingHttpServer(bodyBytes: null);
        using var client = Client();
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.ResolveAsync(ImageReference.Parse($"{server.Host}/base/app:1")));
        Assert.Contains(server.Host, e.Message);
        Assert.Equal(2, server.Requests);
        Assert.True(clock.Elapsed < 2 * RequestTimeout + TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_blob_body_that_stops_mid_transfer_fails_after_the_idle_timeout_naming_the_registry()
    {
        await using var server = new StallingHttpServer(bodyBytes: new byte[1000]);
        using var client = Client();
        var descriptor = new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest.Compute(new byte[100_000]).ToString(), Size = 100_000 };
        await using var blob = await client.OpenBlobAsync(ImageReference.Parse($"{server.Host}/base/app:1"), descriptor);

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<IOException>(() => blob.CopyToAsync(Stream.Null));
        Assert.Contains(server.Host, e.Message);
        Assert.True(clock.Elapsed < RequestTimeout + TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }
}
