using System.Net;
using Minio;
using Minio.DataModel.Args;

namespace BuildFarm.Cache;

/// <summary>One bucket (and namespace prefix) on one S3 endpoint, shared by the S3 blob store and the S3 step-record
/// storage. Path-style addressing; the bucket is created on first use. Reads go through presigned URLs and our own
/// HttpClient: Minio SDK 7.0.0 only hands out GET bodies inside a callback and mishandles 206 responses.</summary>
public sealed class S3Connection : IDisposable
{
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _bucketLock = new(1, 1);
    private volatile bool _bucketReady;

    public S3Connection(ContentStoreOptions options)
    {
        if (options.Kind != ContentStoreKind.S3) throw new ArgumentException("not an S3 store spec", nameof(options));
        if (string.IsNullOrEmpty(options.Endpoint))
            throw new ArgumentException($"no S3 endpoint for bucket {options.Bucket}: give s3://{options.Bucket}?endpoint=http(s)://host:port, or set AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL");
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new ArgumentException($"invalid S3 endpoint '{options.Endpoint}': expected http(s)://host:port");
        if (string.IsNullOrEmpty(options.AccessKey) || string.IsNullOrEmpty(options.SecretKey))
            throw new ArgumentException($"no S3 credentials for {endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials");
        Options = options;
        Endpoint = endpoint;
        Bucket = options.Bucket;
        Prefix = StoreLayout.Prefix(options.Namespace);
        Location = $"S3 {endpoint.GetLeftPart(UriPartial.Authority)} bucket {Bucket}{(Prefix.Length > 0 ? $" prefix {Prefix}" : "")}";
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = options.RequestTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
        }) { Timeout = Timeout.InfiniteTimeSpan }; // the resilience pipeline owns timeouts
        Client = new MinioClient()
            .WithEndpoint(endpoint.Host, endpoint.Port)
            .WithSSL(endpoint.Scheme == "https")
            .WithRegion(options.Region)
            .WithCredentials(options.AccessKey, options.SecretKey)
            .WithSessionToken(options.SessionToken ?? "")
            .WithHttpClient(_http)
            .Build();
        Resilience = new StoreResilience(Location, options);
    }

    public ContentStoreOptions Options { get; }
    public Uri Endpoint { get; }
    public string Bucket { get; }

    /// <summary>The namespace prefix of every object name ("" for the shared cache).</summary>
    public string Prefix { get; }

    public string Location { get; }
    public IMinioClient Client { get; }
    public StoreResilience Resilience { get; }
    internal HttpClient Http => _http;

    public string Key(string name) => Prefix + name;

    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketReady) return;
        await _bucketLock.WaitAsync(cancellationToken);
        try
        {
            if (_bucketReady) return;
            await Resilience.RequestAsync("create bucket", async token =>
            {
                if (!await Client.BucketExistsAsync(new BucketExistsArgs().WithBucket(Bucket), token))
                {
                    try { await Client.MakeBucketAsync(new MakeBucketArgs().WithBucket(Bucket), token); }
                    catch (Exception e) when (e.Message.Contains("BucketAlreadyOwnedByYou", StringComparison.Ordinal)
                                              || e.Message.Contains("BucketAlreadyExists", StringComparison.Ordinal)) { }
                }
                return true;
            }, cancellationToken);
            _bucketReady = true;
        }
        finally { _bucketLock.Release(); }
    }

    /// <summary>Size and last-modified of an object, or null when absent.</summary>
    public async Task<StoredObject?> StatAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        return await Resilience.RequestAsync($"stat {name}", async token =>
        {
            try
            {
                var stat = await Client.StatObjectAsync(new StatObjectArgs().WithBucket(Bucket).WithObject(Key(name)), token);
                return new StoredObject(name, stat.Size, new DateTimeOffset(DateTime.SpecifyKind(stat.LastModified, DateTimeKind.Utc)));
            }
            catch (Exception e) when (TransientErrors.IsNotFound(e)) { return null; }
        }, cancellationToken);
    }

    /// <summary>Starts a GET of an object through a presigned URL; the caller owns the response. Null when absent.</summary>
    public async Task<HttpResponseMessage?> GetAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        return await Resilience.RequestAsync($"get {name}", async token =>
        {
            var url = await Client.PresignedGetObjectAsync(new PresignedGetObjectArgs().WithBucket(Bucket).WithObject(Key(name)).WithExpiry(3600));
            var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, token);
            if (response.StatusCode == HttpStatusCode.NotFound) { response.Dispose(); return null; }
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(token);
                response.Dispose();
                throw new HttpRequestException($"GET {name} from {Location}: {(int)response.StatusCode} {response.ReasonPhrase} {body}", null, response.StatusCode);
            }
            return response;
        }, cancellationToken);
    }

    public async Task<byte[]?> GetBytesAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        return await Resilience.RequestAsync($"get {name}", async token =>
        {
            var url = await Client.PresignedGetObjectAsync(new PresignedGetObjectArgs().WithBucket(Bucket).WithObject(Key(name)).WithExpiry(3600));
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseContentRead, token);
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"GET {name} from {Location}: {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            return await response.Content.ReadAsByteArrayAsync(token);
        }, cancellationToken);
    }

    /// <summary>Writes a small object in one PUT (S3 makes it visible only when complete).</summary>
    public async Task PutBytesAsync(string name, ReadOnlyMemory<byte> data, string contentType, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        await Resilience.RequestAsync($"put {name}", async token =>
        {
            using var stream = new MemoryStream(data.ToArray(), writable: false);
            await Client.PutObjectAsync(new PutObjectArgs().WithBucket(Bucket).WithObject(Key(name))
                .WithStreamData(stream).WithObjectSize(data.Length).WithContentType(contentType), token);
            return true;
        }, cancellationToken);
    }

    /// <summary>Streams one object up in a single PUT through a presigned URL. The source may throw while being read
    /// (digest mismatch, dead writer): the request is then aborted short of its Content-Length and S3 stores nothing.</summary>
    public async Task PutStreamAsync(string name, Stream content, long length, CancellationToken cancellationToken)
    {
        var url = await Client.PresignedPutObjectAsync(new PresignedPutObjectArgs().WithBucket(Bucket).WithObject(Key(name)).WithExpiry(3600));
        using var body = new StreamContent(content, 1 << 20);
        body.Headers.ContentLength = length;
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        HttpResponseMessage response;
        try { response = await _http.PutAsync(url, body, cancellationToken); }
        catch (HttpRequestException e) when (FindSourceError(e) is { } source)
        {
            // The failure was the source's, not the network's: surface it as is (it is not worth a retry).
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(source);
            throw;
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new HttpRequestException($"PUT {name} to {Location}: {(int)response.StatusCode} {response.ReasonPhrase} {text}", null, response.StatusCode);
            }
        }
    }

    private static Exception? FindSourceError(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
            if (inner is DigestMismatchException or InvalidDataException) return inner;
        return null;
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        await Resilience.RequestAsync($"delete {name}", async token =>
        {
            await Client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(Bucket).WithObject(Key(name)), token);
            return true;
        }, cancellationToken);
    }

    /// <summary>Every object whose name starts with <paramref name="prefix"/> (relative to the namespace). Collected
    /// whole so that a failed page can be retried from the start.</summary>
    public async Task<IReadOnlyList<StoredObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        return await Resilience.RequestAsync($"list {prefix}", async token =>
        {
            var items = new List<StoredObject>();
            await foreach (var item in Client.ListObjectsEnumAsync(
                               new ListObjectsArgs().WithBucket(Bucket).WithPrefix(Key(prefix)).WithRecursive(true), token))
            {
                if (item.IsDir) continue;
                var modified = item.LastModifiedDateTime is { } m ? new DateTimeOffset(DateTime.SpecifyKind(m.ToUniversalTime(), DateTimeKind.Utc)) : DateTimeOffset.MinValue;
                items.Add(new StoredObject(item.Key[Prefix.Length..], (long)item.Size, modified));
            }
            return (IReadOnlyList<StoredObject>)items;
        }, cancellationToken);
    }

    /// <summary>Aborts multipart uploads that writers left unfinished (they are never visible as objects, but use space).</summary>
    public async Task<int> AbortStaleUploadsAsync(TimeSpan olderThan, CancellationToken cancellationToken)
    {
        await EnsureBucketAsync(cancellationToken);
        return await Resilience.RequestAsync("abort stale uploads", async token =>
        {
            var stale = new HashSet<string>();
            await foreach (var upload in Client.ListIncompleteUploadsEnumAsync(
                               new ListIncompleteUploadsArgs().WithBucket(Bucket).WithPrefix(Prefix).WithRecursive(true), token))
                if (DateTimeOffset.TryParse(upload.Initiated, out var initiated) && initiated < DateTimeOffset.UtcNow - olderThan)
                    stale.Add(upload.Key);
            foreach (var key in stale)
                await Client.RemoveIncompleteUploadAsync(new RemoveIncompleteUploadArgs().WithBucket(Bucket).WithObject(key), token);
            return stale.Count;
        }, cancellationToken);
    }

    public void Dispose()
    {
        Client.Dispose();
        _http.Dispose();
        _bucketLock.Dispose();
    }
}
