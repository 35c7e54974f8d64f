using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using Minio.DataModel.Args;

namespace BuildFarm.IntegrationTests.Cache;

[Collection(S3ServerCollection.Name)]
public sealed class S3KilledWriterTests(S3ServerFixture server) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"buildfarm-kill-{Guid.NewGuid():N}");

    [Fact]
    public async Task Writer_process_killed_mid_upload_leaves_no_visible_blob_and_pruning_aborts_its_upload()
    {
        Directory.CreateDirectory(_dir);
        var file = await BuildfarmCliProcess.WriteRandomFileAsync(Path.Combine(_dir, "layer.bin"), 160);
        var options = server.Options();
        using var cache = ContentStoreFactory.Open(options);
        var s3 = ((S3ContentStore)cache.Blobs).Connection;
        await s3.EnsureBucketAsync(CancellationToken.None);

        async Task<int> IncompleteUploadsAsync()
        {
            var n = 0;
            await foreach (var _ in s3.Client.ListIncompleteUploadsEnumAsync(
                               new ListIncompleteUploadsArgs().WithBucket(s3.Bucket).WithPrefix(s3.Prefix).WithRecursive(true))) n++;
            return n;
        }

        // The writer goes through a proxy that passes 24 MiB (more than one 16 MiB part) and then holds the upload.
        await using var proxy = new S3StallingProxy(new Uri(server.Endpoint).Port, 24 << 20);
        var env = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = S3ServerFixture.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretKey };
        using var writer = BuildfarmCliProcess.Start(env, "cache", "put", "--namespace", options.Namespace!,
            "--cache", $"s3://{options.Bucket}?endpoint={proxy.Endpoint}&multipart-threshold={8 << 20}", file);
        var midUpload = await BuildfarmCliProcess.WaitUntilAsync(writer,
            async () => proxy.Stalled.IsCompleted && await IncompleteUploadsAsync() > 0, TimeSpan.FromSeconds(60));
        if (!midUpload) Assert.Fail($"the writer finished or failed before it could be killed: {await writer.StandardError.ReadToEndAsync()}");
        await BuildfarmCliProcess.KillAsync(writer);

        Digest digest;
        await using (var source = File.OpenRead(file)) digest = await Digest.ComputeAsync(source);
        Assert.False(await cache.Blobs.ExistsAsync(digest));
        Assert.Empty(await cache.Blobs.ListAsync().ToListAsync());

        // The dead writer's parts use space until pruning aborts the unfinished upload.
        Assert.Equal(1, await IncompleteUploadsAsync());
        await new CachePruner(cache).PruneAsync(new PruneOptions { MaxAge = TimeSpan.FromDays(1), UnreferencedGrace = TimeSpan.Zero });
        Assert.Equal(0, await IncompleteUploadsAsync());
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
