using System.Diagnostics;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;
using BuildFarm.Worker.Context;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>
/// One coordinator-to-worker trip of a build context: COPYs from a folder, the folder published to a shared store
/// and deleted, the same COPYs through a worker's materializer (its own local blob cache in front of the store).
/// Returns both sides' layer digests, in the order of <see cref="Copies"/>.
/// </summary>
public sealed class PublishedContextRoundTrip(WorkerFixture worker, IContentStore shared)
{
    /// <summary>Partial selections first (each materializes only what it selects), the whole context last.</summary>
    public static readonly CopyOperation[] Copies =
    [
        new() { Sources = ["dir", "a.txt"], Destination = "/x/" },
        new() { Sources = ["dir/*.txt"], Destination = "/g/" },
        new AddOperation { Sources = ["app.tar"], Destination = "/unpacked/" },
        new() { Sources = ["."], Destination = "/app/" },
    ];

    // Directories a COPY creates get the current time; the epoch clamps those, while the context's own (older)
    // mtimes stay in the layer, so the comparison still sees whether they travelled.
    private static readonly DateTimeOffset SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    public async Task<(IReadOnlyList<Digest> FromFolder, IReadOnlyList<Digest> FromStore)> RunAsync()
    {
        var scratch = Directory.CreateTempSubdirectory("bf-ctxrt").FullName;
        try
        {
            var folder = MakeContext(Path.Combine(scratch, "ctx"));
            var fromFolder = new List<Digest>();
            foreach (var op in Copies)
                fromFolder.Add(await CopyAsync(op, r => r with { ContextDirectory = folder }));

            var entries = ContextWalker.Walk(folder, PatternMatcher.Create([]));
            var published = await new ContextPublisher(shared).PublishAsync(folder, entries, CancellationToken.None);
            Directory.Delete(folder, recursive: true);

            var blobs = new CachingContentStore(shared, Path.Combine(scratch, "blobs"), 1L << 30);
            var materializer = new ContextMaterializer(blobs, new ContextMaterializerOptions(Path.Combine(scratch, "contexts"), 1L << 30));
            var source = new StoredContextSource(materializer, published.ManifestDigest);
            var fromStore = new List<Digest>();
            foreach (var op in Copies)
                fromStore.Add(await CopyAsync(op, r => r with { Context = source }));
            return (fromFolder, fromStore);
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    private async Task<Digest> CopyAsync(CopyOperation op, Func<StepRequest, StepRequest> withContext)
    {
        var request = withContext(new StepRequest { Parents = [worker.BaseLayer], Operation = op, WorkingDirectory = "/work", SourceDateEpoch = SourceDateEpoch });
        var result = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);
        Assert.True(result.Succeeded);
        return result.Layer!.ParsedDigest;
    }

    /// <summary>Files, nested directories with their own modes, a symlink, an empty file, shared content, an owner
    /// other than root, a tar, and odd mtimes (with nanoseconds): everything a layer records.</summary>
    private static string MakeContext(string d)
    {
        Directory.CreateDirectory(Path.Combine(d, "dir/sub"));
        File.WriteAllText(Path.Combine(d, "a.txt"), "A");
        File.WriteAllText(Path.Combine(d, "same.txt"), "A");
        File.WriteAllText(Path.Combine(d, "empty"), "");
        File.WriteAllText(Path.Combine(d, "dir/x.txt"), "X");
        File.WriteAllText(Path.Combine(d, "dir/run.sh"), "#!/bin/sh\necho hi\n");
        Posix.Chmod(Path.Combine(d, "dir/run.sh"), 0b111_101_000);
        File.WriteAllBytes(Path.Combine(d, "dir/sub/big.bin"), RandomBytes(3 << 20));
        Posix.Chmod(Path.Combine(d, "dir/sub"), 0b111_000_000);
        File.CreateSymbolicLink(Path.Combine(d, "dir/link-to-x"), "x.txt");
        File.WriteAllText(Path.Combine(d, "owned.txt"), "owned by 1234");
        Posix.LChown(Path.Combine(d, "owned.txt"), 1234, 1234);
        var tarSource = Path.Combine(d, "..", "tar-src");
        Directory.CreateDirectory(Path.Combine(tarSource, "top"));
        File.WriteAllText(Path.Combine(tarSource, "top/inner.txt"), "inner");
        CopyContext.Run("tar", "-cf", Path.Combine(d, "app.tar"), "-C", tarSource, "top");
        var seconds = 1_650_000_000L;
        foreach (var path in Directory.EnumerateFileSystemEntries(d, "*", SearchOption.AllDirectories).OrderByDescending(p => p.Length).Append(d))
            Posix.SetTimes(path, seconds++, 123_456_789);
        return d;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(42).NextBytes(bytes);
        return bytes;
    }
}
