namespace BuildFarm.Cache;

/// <summary>Opens the cache that <see cref="ContentStoreOptions"/> describe.</summary>
public static class ContentStoreFactory
{
    /// <summary>Blobs and step records of one store. Dispose it to release the S3 connection.</summary>
    public static SharedCache Open(ContentStoreOptions options)
    {
        switch (options.Kind)
        {
            case ContentStoreKind.Local:
                var root = options.ResolveLocalRoot();
                return new SharedCache(new LocalContentStore(root, options.Namespace),
                    new StepRecordIndex(new LocalRecordStorage(root, options.Namespace)));
            case ContentStoreKind.S3:
                var connection = new S3Connection(options);
                return new SharedCache(new S3ContentStore(connection), new StepRecordIndex(new S3RecordStorage(connection)), connection);
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Kind, "unknown cache store kind");
        }
    }

}
