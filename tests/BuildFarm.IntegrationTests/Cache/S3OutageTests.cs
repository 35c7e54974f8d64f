using System.Diagnostics;
using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.Cache;

[Collection(S3ServerCollection.Name)]
public sealed class S3OutageTests(S3ServerFixture server)
{
    [Fact]
    public async Task Stopped_server_gives_a_clear_error_naming_the_endpoint_within_the_timeout_and_recovers_after_restart()
    {
        var timeout = TimeSpan.FromSeconds(4);
        using var cache = ContentStoreFactory.Open(server.Options() with { OperationTimeout = timeout, RequestTimeout = TimeSpan.FromSeconds(2) });
        var bytes = "layer bytes"u8.ToArray();
        var digest = await cache.Blobs.PutAsync(new MemoryStream(bytes));

        await server.StopGatewayAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Blobs.ExistsAsync(digest));
            clock.Stop();
            Assert.Contains(server.Endpoint, e.Message);
            Assert.InRange(clock.Elapsed, timeout * 0.9, timeout + TimeSpan.FromSeconds(3));

            clock.Restart();
            var put = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Blobs.PutAsync(new MemoryStream("other"u8.ToArray())));
            Assert.Contains(server.Endpoint, put.Message);
            Assert.True(clock.Elapsed < timeout + TimeSpan.FromSeconds(3), $"put took {clock.Elapsed}");
            await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Records.GetAsync(digest.ToString()));
        }
        finally
        {
            await server.StartGatewayAsync();
        }

        // The same store object recovers: no reconnect step, no restart of the client.
        Assert.True(await cache.Blobs.ExistsAsync(digest));
        await using var stream = await cache.Blobs.OpenAsync(digest);
        using var read = new MemoryStream();
        await stream.CopyToAsync(read);
        Assert.Equal(bytes, read.ToArray());
    }

    [Fact]
    public async Task Operation_that_outlives_a_short_outage_succeeds_through_retries()
    {
        using var cache = ContentStoreFactory.Open(server.Options() with { OperationTimeout = TimeSpan.FromSeconds(90) });
        var digest = await cache.Blobs.PutAsync(new MemoryStream("retry me"u8.ToArray()));
        await server.StopGatewayAsync();
        var restart = Task.Run(async () =>
        {
            await Task.Delay(1500);
            await server.StartGatewayAsync();
        });
        try
        {
            Assert.True(await cache.Blobs.ExistsAsync(digest)); // retried with backoff until the gateway was back
        }
        finally { await restart; }
    }

    [Fact]
    public async Task Upload_that_stalls_mid_transfer_fails_within_its_deadline_and_leaves_nothing_visible()
    {
        await using var proxy = new S3StallingProxy(new Uri(server.Endpoint).Port, budget: 1 << 20);
        var direct = server.Options();
        using var stalled = ContentStoreFactory.Open(direct with
        {
            Endpoint = proxy.Endpoint, RequestTimeout = TimeSpan.FromSeconds(2), MinTransferBytesPerSecond = 8 << 20, MaxTransferAttempts = 2,
        });
        var bytes = new byte[8 << 20];
        new Random(5).NextBytes(bytes);

        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => stalled.Blobs.PutAsync(new MemoryStream(bytes)));
        Assert.Contains(proxy.Endpoint, e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}"); // 2 attempts x (2 s + 8 MiB at 8 MiB/s) + backoff
        using var check = ContentStoreFactory.Open(direct);
        Assert.False(await check.Blobs.ExistsAsync(Digest.Compute(bytes)));
    }

    [Fact]
    public async Task Unreachable_endpoint_fails_within_the_timeout_naming_it()
    {
        // A port nobody listens on: connection refused, retried, then a clear error.
        var options = server.Options() with
        {
            Endpoint = "http://127.0.0.1:9", OperationTimeout = TimeSpan.FromSeconds(2), RequestTimeout = TimeSpan.FromSeconds(1),
        };
        using var cache = ContentStoreFactory.Open(options);
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Blobs.ExistsAsync(Digest.Compute([])));
        Assert.Contains("127.0.0.1:9", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Once_a_stalled_store_exhausted_one_budget_later_calls_fail_after_a_single_attempt()
    {
        // Accepted connections, no answers: each attempt runs into the request timeout.
        await using var proxy = new S3StallingProxy(new Uri(server.Endpoint).Port, budget: 0);
        var options = server.Options() with
        {
            Endpoint = proxy.Endpoint, OperationTimeout = TimeSpan.FromSeconds(4), RequestTimeout = TimeSpan.FromSeconds(1),
        };
        using var cache = ContentStoreFactory.Open(options);

        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Blobs.ExistsAsync(Digest.Compute([])));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(3.5), TimeSpan.FromSeconds(7));

        clock.Restart();
        var record = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Records.GetAsync(Digest.Compute([]).ToString()));
        var put = await Assert.ThrowsAsync<ContentStoreUnavailableException>(() => cache.Blobs.PutAsync(new MemoryStream("x"u8.ToArray())));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"two calls took {clock.Elapsed}");
        Assert.Contains(proxy.Endpoint, record.Message);
        Assert.Contains(proxy.Endpoint, put.Message);
    }
}
