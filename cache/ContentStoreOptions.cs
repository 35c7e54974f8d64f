using System.Globalization;

namespace BuildFarm.Cache;

/// <summary>Where the cache lives and how to talk to it. Build one in code, from a spec string
/// (<see cref="Parse"/>); the CLI completes it from the environment. Open it with
/// <see cref="ContentStoreFactory"/>.</summary>
public sealed record ContentStoreOptions
{
    public const string DefaultBucket = "buildfarm-cache";
    public const string DefaultRegion = "us-east-1";

    public ContentStoreKind Kind { get; init; } = ContentStoreKind.Local;

    /// <summary>Local: the cache folder (default <see cref="DefaultLocalRoot"/>).</summary>
    public string? Path { get; init; }

    /// <summary>S3: the endpoint URL, e.g. <c>http://127.0.0.1:9000</c> (path-style addressing is used).</summary>
    public string? Endpoint { get; init; }

    public string Bucket { get; init; } = DefaultBucket;
    public string Region { get; init; } = DefaultRegion;

    /// <summary>S3 credentials (the CLI fills them from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when the spec has none).</summary>
    public string? AccessKey { get; init; }
    public string? SecretKey { get; init; }

    /// <summary>S3: the session token of temporary credentials (AWS_SESSION_TOKEN, a profile's aws_session_token).</summary>
    public string? SessionToken { get; init; }

    /// <summary>Null: the one shared cache. A name: a separate cache (key prefix <c>ns/&lt;name&gt;/</c>) for a team that must not share.</summary>
    public string? Namespace { get; init; }

    /// <summary>One attempt of one small request (HEAD, list, record get/put) and the TCP connect.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an operation keeps retrying transient failures before it fails with
    /// <see cref="ContentStoreUnavailableException"/> naming the endpoint.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound of one attempt of a blob upload.</summary>
    public TimeSpan TransferTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The slowest transfer taken as alive: one upload attempt may take RequestTimeout + size / this rate
    /// (capped by <see cref="TransferTimeout"/>), so a stalled upload fails in proportion to its size, not after 30 min.</summary>
    public long MinTransferBytesPerSecond { get; init; } = 1 << 20;

    /// <summary>The deadline of one upload attempt of <paramref name="size"/> bytes.</summary>
    public TimeSpan TransferDeadline(long size)
    {
        var seconds = RequestTimeout.TotalSeconds + (double)size / Math.Max(1, MinTransferBytesPerSecond);
        return seconds >= TransferTimeout.TotalSeconds ? TransferTimeout : TimeSpan.FromSeconds(seconds);
    }

    public int MaxTransferAttempts { get; init; } = 3;

    /// <summary>S3: blobs up to this size go up as one streamed PUT (UNSIGNED-PAYLOAD through a presigned URL: about
    /// 3x the Minio SDK's multipart rate here, as the SDK signs every part's sha256 and the server re-hashes it);
    /// larger blobs use the SDK's multipart upload. S3 allows single PUTs up to 5 GiB.</summary>
    public long MultipartThresholdBytes { get; init; } = 1L << 30;

    /// <summary>S3: where uploads of unseekable streams are spooled (to learn size and digest before sending).</summary>
    public string? SpoolDirectory { get; init; }

    /// <summary>What a log or a message may show: never the keys nor the session token (a record would print them all).</summary>
    public override string ToString() => Describe();

    /// <summary>Where the endpoint and bucket or folder are, for messages.</summary>
    public string Describe() => Kind == ContentStoreKind.S3
        ? $"s3 {Endpoint} bucket {Bucket}{(Namespace is null ? "" : $" namespace {Namespace}")}"
        : $"local {Path ?? "(default)"}{(Namespace is null ? "" : $" namespace {Namespace}")}";

    /// <summary><c>~/.buildfarm/cache</c>: the local store when no <see cref="Path"/> is given. (The CLI passes
    /// <c>$BUILDFARM_HOME/cache</c> as the path; this library reads no environment variables.)</summary>
    public static string DefaultLocalRoot() =>
        System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".buildfarm", "cache");

    /// <summary>Parses a store spec: <c>local</c>, <c>local:/path</c>, an absolute path, or
    /// <c>s3://bucket?endpoint=http://host:port&amp;region=r&amp;namespace=team&amp;timeout=60</c>
    /// (<c>endpoint</c> may also come as <c>s3://bucket@http://host:port</c>, or be left to the environment: <c>s3://bucket</c>).</summary>
    public static ContentStoreOptions Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (spec == "local") return new ContentStoreOptions();
        if (spec.StartsWith("local:", StringComparison.Ordinal)) return new ContentStoreOptions { Path = spec["local:".Length..] };
        if (spec.StartsWith('/') || spec.StartsWith('.') || spec.StartsWith('~'))
            return new ContentStoreOptions { Path = ExpandHome(spec) };
        if (!spec.StartsWith("s3://", StringComparison.Ordinal))
            throw new FormatException($"invalid cache store spec '{spec}': expected local, local:<path>, <absolute path> or s3://<bucket>?endpoint=<url>");

        var rest = spec["s3://".Length..];
        var query = "";
        var q = rest.IndexOf('?');
        if (q >= 0) { query = rest[(q + 1)..]; rest = rest[..q]; }
        string? endpoint = null;
        var at = rest.IndexOf('@');
        if (at >= 0) { endpoint = rest[(at + 1)..]; rest = rest[..at]; }
        var options = new ContentStoreOptions { Kind = ContentStoreKind.S3, Bucket = rest.Trim('/'), Endpoint = endpoint };
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            options = key switch
            {
                "endpoint" => options with { Endpoint = value },
                "region" => options with { Region = value },
                "namespace" => options with { Namespace = value },
                "timeout" => options with { OperationTimeout = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                "request-timeout" => options with { RequestTimeout = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                "transfer-timeout" => options with { TransferTimeout = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) },
                "transfer-attempts" => options with { MaxTransferAttempts = int.Parse(value, CultureInfo.InvariantCulture) },
                "multipart-threshold" => options with { MultipartThresholdBytes = long.Parse(value, CultureInfo.InvariantCulture) },
                _ => throw new FormatException($"invalid cache store spec '{spec}': unknown parameter '{key}'"),
            };
        }
        if (string.IsNullOrEmpty(options.Bucket)) throw new FormatException($"invalid cache store spec '{spec}': no bucket");
        // No endpoint in the spec: the CLI takes it from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL; S3Connection refuses none.
        return options;
    }

    public string ResolveLocalRoot() => Path is { Length: > 0 } p ? ExpandHome(p) : DefaultLocalRoot();

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.TrimStart('~').TrimStart('/'))
            : path;

}
