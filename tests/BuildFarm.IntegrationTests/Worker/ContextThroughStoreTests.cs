using BuildFarm.Cache;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Worker.Context;
using BuildFarm.Worker.Steps;

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

    [Fact]
    public async Task Bind_mount_rw_of_a_published_context_never_changes_the_shared_tree()
    {
        var scratch = Directory.CreateDirectory(Path.Combine(worker.Root, "ctxbind-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var folder = Directory.CreateDirectory(Path.Combine(scratch, "ctx")).FullName;
        File.WriteAllText(Path.Combine(folder, "input.txt"), "original");
        var store = new LocalContentStore(Path.Combine(scratch, "shared"));
        var published = await new ContextPublisher(store).PublishAsync(folder, ContextWalker.Walk(folder, PatternMatcher.Create([])), CancellationToken.None);
        Directory.Delete(folder, recursive: true);
        var materializer = new ContextMaterializer(store, new ContextMaterializerOptions(Path.Combine(scratch, "contexts"), 1L << 30));
        var progress = new CollectingProgress();
        const string script = "cat /src/input.txt; echo; echo changed > /src/input.txt && echo new > /src/new.txt";

        var result = await worker.RunAsync(script,
            configure: r => r with
            {
                Operation = new RunOperation { Command = [script], Mounts = [new RunMount { Type = RunMountType.Bind, Target = "/src", ReadOnly = false }] },
                Context = new StoredContextSource(materializer, published.ManifestDigest),
            }, output: progress);

        Assert.True(result.Succeeded);
        Assert.Equal(["original"], progress.Lines.Select(l => l.Text));
        await using var again = await materializer.MaterializeAsync(published.ManifestDigest, null, CancellationToken.None);
        Assert.Equal("original", File.ReadAllText(Path.Combine(again.Directory, "input.txt")));
        Assert.False(File.Exists(Path.Combine(again.Directory, "new.txt")));
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
