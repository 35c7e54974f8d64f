using BuildFarm.Cache;
using BuildFarm.Coordinator.Export;
using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Export;

/// <summary>The staging half of the overlapped export (no registry: an OCI archive output), against a real local store.</summary>
public sealed class LayerPrepushTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-prepush-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static LayerRef RefOf(Digest digest, long size) =>
        new() { Digest = digest.ToString(), Size = size, MediaType = "application/vnd.oci.image.layer.v1.tar+gzip" };

    [Fact]
    public async Task An_offered_layer_is_staged_as_a_file_named_by_its_digest_and_is_gone_after_dispose()
    {
        var store = new LocalContentStore(Path.Combine(_dir, "store"));
        var bytes = "layer bytes"u8.ToArray();
        var digest = await store.PutAsync(new MemoryStream(bytes));
        var prepush = new LayerPrepush(store, null, ownsClient: false, [], Path.Combine(_dir, "scratch"), CancellationToken.None);

        prepush.Offer(RefOf(digest, bytes.Length));
        prepush.Offer(RefOf(digest, bytes.Length)); // offered twice (two steps with one layer): staged once
        await prepush.DrainAsync();

        var staged = prepush.StagedBlobPath(digest);
        Assert.NotNull(staged);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(staged));
        Assert.Equal(1, prepush.Pushed);
        await prepush.DisposeAsync();
        Assert.False(File.Exists(staged));
    }

    [Fact]
    public async Task A_layer_the_store_lacks_is_not_staged_and_the_drain_names_it()
    {
        var store = new LocalContentStore(Path.Combine(_dir, "store"));
        var missing = Digest.Compute("never stored"u8.ToArray());
        await using var prepush = new LayerPrepush(store, null, ownsClient: false, [], Path.Combine(_dir, "scratch"), CancellationToken.None);

        prepush.Offer(RefOf(missing, 12));
        var lost = await Assert.ThrowsAnyAsync<BlobNotFoundException>(prepush.DrainAsync);

        Assert.Contains(missing.ToString(), lost.Message);
        Assert.Null(prepush.StagedBlobPath(missing));
        Assert.Equal(0, prepush.Pushed);
    }
}
