using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>A worker that never saw the context folder runs COPY/ADD from the published context and produces the
/// same layers, byte for byte, as a COPY from the folder.</summary>
[Collection(WorkerCollection.Name)]
public sealed class ContextThroughStoreTests(WorkerFixture worker)
{
    [Fact]
    public async Task Copy_from_a_published_context_gives_the_layers_of_a_copy_from_the_folder()
    {
        var shared = new LocalContentStore(Path.Combine(worker.Root, "shared-" + Guid.NewGuid().ToString("N")[..8]));

        var (fromFolder, fromStore) = await new PublishedContextRoundTrip(worker, shared).RunAsync();

        Assert.Equal(PublishedContextRoundTrip.Copies.Length, fromFolder.Distinct().Count());
        Assert.Equal(fromFolder, fromStore);
    }
}

/// <summary>The same through a real S3 server (radosgw), the farm's shared store.</summary>
[Collection(WorkerCollection.Name)]
public sealed class ContextThroughS3Tests(WorkerFixture worker, S3ServerFixture s3) : IClassFixture<S3ServerFixture>
{
    [Fact]
    public async Task Copy_from_a_context_published_to_s3_gives_the_layers_of_a_copy_from_the_folder()
    {
        using var cache = ContentStoreFactory.Open(s3.Options());

        var (fromFolder, fromStore) = await new PublishedContextRoundTrip(worker, cache.Blobs).RunAsync();

        Assert.Equal(PublishedContextRoundTrip.Copies.Length, fromFolder.Distinct().Count());
        Assert.Equal(fromFolder, fromStore);
    }
}
