using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using Minio.DataModel.Args;

namespace BuildFarm.IntegrationTests.Cache;

[Collection(S3ServerCollection.Name)]
public sealed class S3ContentStoreContractTests(S3ServerFixture server) : ContentStoreContract
{
    private readonly string _run = $"r{Guid.NewGuid():N}"[..12];

    protected override ContentStoreOptions NewCacheOptions(string? ns = null) =>
        server.Options(ns is null ? null : $"{_run}-{ns}");

    protected override ContentStoreOptions NewCacheOptionsLike(SharedCache cache) =>
        server.Options(((S3ContentStore)cache.Blobs).Connection.Options.Namespace);

    protected override async Task CorruptAsync(SharedCache cache, Digest digest, byte[] bytes)
    {
        // Overwrite the object directly with the SDK, as a faulty disk or a buggy client would.
        var s3 = ((S3ContentStore)cache.Blobs).Connection;
        using var stream = new MemoryStream(bytes);
        await s3.Client.PutObjectAsync(new PutObjectArgs().WithBucket(s3.Bucket).WithObject(s3.Key(StoreLayout.BlobName(digest)))
            .WithStreamData(stream).WithObjectSize(bytes.Length));
    }
}
