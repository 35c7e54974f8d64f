using System.Diagnostics;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Worker.Context;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.Cache;

/// <summary>A 5,000-file context: the first publish uploads, a rebuild with nothing changed only asks Exists.
/// Timings go to the test output (run with --logger "console;verbosity=detailed").</summary>
[Collection(S3ServerCollection.Name)]
public sealed class ContextPublishScaleTests(S3ServerFixture s3, ITestOutputHelper output) : IDisposable
{
    private const int Files = 500; // the behaviour, not the scale: the 5,000-file timings were measured once (see cache/README.md)
    private readonly string _scratch = Directory.CreateTempSubdirectory("bf-ctxscale").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public Task Republish_of_unchanged_files_to_a_local_store_only_asks_exists() =>
        RepublishAsync("local", new LocalContentStore(Path.Combine(_scratch, "store")));

    [Fact]
    public async Task Republish_of_unchanged_files_to_s3_only_asks_exists()
    {
        using var cache = ContentStoreFactory.Open(s3.Options());
        await RepublishAsync("radosgw", cache.Blobs);
    }

    private async Task RepublishAsync(string name, IContentStore store)
    {
        var root = MakeContext(Path.Combine(_scratch, "ctx"));
        var entries = ContextWalker.Walk(root, PatternMatcher.Create([]));

        var watch = Stopwatch.StartNew();
        var first = await new ContextPublisher(store).PublishAsync(root, entries, CancellationToken.None);
        var cold = watch.Elapsed;
        var counting = new CountingContentStore(store);
        watch.Restart();
        var second = await new ContextPublisher(counting).PublishAsync(root, entries, CancellationToken.None);
        var warm = watch.Elapsed;

        Assert.Equal((Files, Files), (first.BlobsUploaded, second.BlobsPresent));
        Assert.Equal(first.ManifestDigest, second.ManifestDigest);
        Assert.Equal((0, 0, Files + 1), (counting.Puts, counting.Opens, counting.Exists));

        var materializer = new ContextMaterializer(new CachingContentStore(store, Path.Combine(_scratch, "blobs"), 1L << 30),
            new ContextMaterializerOptions(Path.Combine(_scratch, "contexts"), 1L << 30));
        watch.Restart();
        await using (await materializer.MaterializeAsync(first.ManifestDigest, null, CancellationToken.None)) { }
        var materialize = watch.Elapsed;
        watch.Restart();
        await using (await materializer.MaterializeAsync(first.ManifestDigest, null, CancellationToken.None)) { }
        var reuse = watch.Elapsed;
        output.WriteLine($"{name}: {Files} files: publish cold {cold.TotalMilliseconds:F0} ms, unchanged {warm.TotalMilliseconds:F0} ms " +
                         $"({counting.Exists} Exists); materialize cold {materialize.TotalMilliseconds:F0} ms, reuse {reuse.TotalMilliseconds:F0} ms");
    }

    private static string MakeContext(string root)
    {
        for (var i = 0; i < Files; i++)
        {
            var dir = Path.Combine(root, $"d{i / 100:D2}");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, $"f{i:D4}.txt"), $"file {i}\n");
        }
        return root;
    }
}
