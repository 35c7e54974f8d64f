namespace BuildFarm.Oci.Registry;

/// <summary>Settings of a <see cref="RegistryClient"/>.</summary>
public sealed record RegistryClientOptions
{
    /// <summary>Where credentials come from; anonymous when null or when it has none for a registry.</summary>
    public IRegistryCredentialProvider? Credentials { get; init; }

    /// <summary>Registries (host[:port]) spoken to over plain http; loopback hosts always are.</summary>
    public IReadOnlySet<string> InsecureRegistries { get; init; } = new HashSet<string>();

    /// <summary>Retries after a 5xx, a 429, a reset connection or a timeout (not counting the first attempt).</summary>
    public int MaxRetries { get; init; } = 4;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Blobs up to this size go in one PUT; larger ones are sent in <see cref="ChunkSize"/> PATCHes.</summary>
    public long MonolithicUploadLimit { get; init; } = 32 * 1024 * 1024;

    public int ChunkSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Time for one HTTP exchange of headers, and the longest silence of a streaming body (bodies stream for as
    /// long as bytes flow). With <see cref="MaxRetries"/> it bounds how long an unreachable registry can hold a build.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public string UserAgent { get; init; } = "buildfarm";
}
