using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BuildFarm.Oci.Images;
using Polly;
using Polly.Retry;

namespace BuildFarm.Oci.Registry;

/// <summary>
/// A distribution-spec client: resolves tags, fetches manifests and blobs (verifying digests), pushes blobs
/// (skipping ones the registry has, mounting across repositories, monolithic or chunked) and manifests.
/// Handles anonymous, Basic and Bearer-token auth from 401 challenges; retries 5xx/429/connection resets.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    public static readonly string[] ManifestAcceptTypes =
        [MediaTypes.OciManifest, MediaTypes.OciIndex, MediaTypes.DockerManifest, MediaTypes.DockerManifestList];

    private const string DigestHeader = "Docker-Content-Digest";
    private const long MaxManifestBytes = 4 * 1024 * 1024;

    private readonly RegistryClientOptions _options;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly ConcurrentDictionary<string, AuthChallenge> _challenges = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

    public RegistryClient(RegistryClientOptions? options = null, HttpMessageHandler? handler = null)
    {
        _options = options ?? new RegistryClientOptions();
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan; // per-request timeouts below; bodies may stream for long
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(0, _options.MaxRetries),
                Delay = _options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<IOException>()
                    .Handle<TimeoutException>()
                    .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode == HttpStatusCode.TooManyRequests),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose(); // the failed response is not handed to anyone; free its connection
                    return ValueTask.CompletedTask;
                },
                DelayGenerator = args =>
                    args.Outcome.Result?.Headers.RetryAfter?.Delta is { } wait && wait < TimeSpan.FromSeconds(30)
                        ? ValueTask.FromResult<TimeSpan?>(wait)
                        : ValueTask.FromResult<TimeSpan?>(null),
            })
            .Build();
    }

    public void Dispose() => _http.Dispose();

    // ---------------------------------------------------------------- manifests

    /// <summary>Resolves a reference (tag or digest) to the descriptor of what it names, without downloading it.</summary>
    public async Task<Descriptor> ResolveAsync(ImageReference reference, CancellationToken cancellationToken = default)
    {
        var uri = Url(reference, $"manifests/{reference.Reference}");
        using (var head = await SendAsync(reference, Pull(reference), () => ManifestRequest(HttpMethod.Head, uri), cancellationToken))
        {
            if (head.IsSuccessStatusCode
                && head.Headers.TryGetValues(DigestHeader, out var values) && Digest.TryParse(values.FirstOrDefault(), out var digest)
                && head.Content.Headers.ContentType?.MediaType is { } mediaType && head.Content.Headers.ContentLength is { } length)
            {
                return new Descriptor { MediaType = mediaType, Digest = digest.ToString(), Size = length };
            }
            if (!head.IsSuccessStatusCode && head.StatusCode != HttpStatusCode.MethodNotAllowed)
                await ThrowForStatusAsync(head, reference, $"manifest {reference.Reference}", cancellationToken);
        }
        // Some registries omit the digest header on HEAD: fetch and hash instead.
        return (await GetManifestAsync(reference, cancellationToken)).ToDescriptor();
    }

    /// <summary>Fetches a manifest or index by tag or digest, keeping its exact bytes; a digest reference is verified.</summary>
    public async Task<ManifestDocument> GetManifestAsync(ImageReference reference, CancellationToken cancellationToken = default)
    {
        var uri = Url(reference, $"manifests/{reference.Reference}");
        using var response = await SendAsync(reference, Pull(reference), () => ManifestRequest(HttpMethod.Get, uri), cancellationToken);
        if (!response.IsSuccessStatusCode)
            await ThrowForStatusAsync(response, reference, $"manifest {reference.Reference}", cancellationToken);
        if (response.Content.Headers.ContentLength > MaxManifestBytes)
            throw new RegistryException($"manifest {reference} is {response.Content.Headers.ContentLength} bytes; refusing more than {MaxManifestBytes}");
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var document = ManifestDocument.FromBytes(bytes, response.Content.Headers.ContentType?.MediaType);
        if (reference.Digest is { } expected && document.Digest != expected)
            throw new BlobDigestMismatchException(expected, document.Digest, -1, bytes.Length);
        if (response.Headers.TryGetValues(DigestHeader, out var values) && Digest.TryParse(values.FirstOrDefault(), out var served)
            && served.Algorithm == Digest.Sha256Algorithm && served != document.Digest)
            throw new BlobDigestMismatchException(served, document.Digest, -1, bytes.Length);
        return document;
    }

    /// <summary>
    /// Fetches the image manifest for a platform: when the reference names an index (or Docker manifest list),
    /// the matching entry is selected and fetched by digest. Returns the manifest and, if any, the index it came from.
    /// </summary>
    public async Task<(ManifestDocument Manifest, ManifestDocument? Index)> GetImageManifestAsync(ImageReference reference, Platform platform, CancellationToken cancellationToken = default)
    {
        var document = await GetManifestAsync(reference, cancellationToken);
        if (document.IsManifest) return (document, null);
        if (!document.IsIndex)
            throw new InvalidOciDocumentException($"{reference} is a {document.MediaType}, neither an image manifest nor an index");
        var selected = document.ParseIndex().SelectPlatform(platform);
        var manifest = await GetManifestAsync(reference.WithDigest(selected.ParsedDigest), cancellationToken);
        return (manifest, document);
    }

    /// <summary>Stores a manifest under a tag (or its digest); returns its descriptor. The registry must agree on the digest.</summary>
    public async Task<Descriptor> PutManifestAsync(ImageReference reference, ManifestDocument document, CancellationToken cancellationToken = default)
    {
        var target = reference.Digest is { } d && d != document.Digest
            ? throw new ArgumentException($"reference {reference} names a digest other than the manifest's {document.Digest}", nameof(reference))
            : reference.Tag ?? document.Digest.ToString();
        var uri = Url(reference, $"manifests/{target}");
        using var response = await SendAsync(reference, Push(reference), () =>
        {
            var content = new ByteArrayContent(document.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(document.MediaType);
            return new HttpRequestMessage(HttpMethod.Put, uri) { Content = content };
        }, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created && !response.IsSuccessStatusCode)
            await ThrowForStatusAsync(response, reference, $"manifest push {target}", cancellationToken);
        if (response.Headers.TryGetValues(DigestHeader, out var values) && Digest.TryParse(values.FirstOrDefault(), out var stored) && stored != document.Digest)
            throw new BlobDigestMismatchException(document.Digest, stored, -1, document.Bytes.Length);
        return document.ToDescriptor();
    }

    /// <summary>The tags of a repository.</summary>
    public async Task<IReadOnlyList<string>> ListTagsAsync(ImageReference repository, CancellationToken cancellationToken = default)
    {
        var uri = Url(repository, "tags/list");
        using var response = await SendAsync(repository, Pull(repository), () => new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken);
        if (!response.IsSuccessStatusCode)
            await ThrowForStatusAsync(response, repository, "tag list", cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        return json.RootElement.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array
            ? tags.EnumerateArray().Select(t => t.GetString()!).ToList()
            : [];
    }

    /// <summary>Checks that the registry accepts this client's credentials (<c>GET /v2/</c>, as <c>docker login</c> does);
    /// throws <see cref="RegistryAuthenticationException"/> when it refuses them.</summary>
    public async Task CheckLoginAsync(string registry, CancellationToken cancellationToken = default)
    {
        var reference = new ImageReference { Registry = registry, Repository = "library/login-check" };
        var uri = BaseUri(reference);
        using var response = await SendAsync(reference, [], () => new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken);
        if (!response.IsSuccessStatusCode)
            await ThrowForStatusAsync(response, reference, "login", cancellationToken);
    }

    // ---------------------------------------------------------------- blobs

    public async Task<bool> BlobExistsAsync(ImageReference repository, Digest digest, CancellationToken cancellationToken = default)
    {
        var uri = Url(repository, $"blobs/{digest}");
        using var response = await SendAsync(repository, Pull(repository), () => new HttpRequestMessage(HttpMethod.Head, uri), cancellationToken);
        if (response.IsSuccessStatusCode) return true;
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        await ThrowForStatusAsync(response, repository, $"blob {digest}", cancellationToken);
        return false;
    }

    /// <summary>Opens a blob for streaming; the stream throws at its end unless the bytes match the descriptor.</summary>
    public async Task<Stream> OpenBlobAsync(ImageReference repository, Descriptor descriptor, CancellationToken cancellationToken = default)
    {
        var digest = descriptor.ParsedDigest;
        var uri = Url(repository, $"blobs/{digest}");
        var response = await SendAsync(repository, Pull(repository), () => new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken);
        try
        {
            if (!response.IsSuccessStatusCode)
                await ThrowForStatusAsync(response, repository, $"blob {digest}", cancellationToken);
            var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            return new VerifyingReadStream(new ResponseStream(body, response, _options.RequestTimeout, $"registry {repository.Registry} ({BaseUri(repository)}) blob {digest}"),
                digest, descriptor.Size);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    public async Task<byte[]> GetBlobAsync(ImageReference repository, Descriptor descriptor, CancellationToken cancellationToken = default)
    {
        await using var stream = await OpenBlobAsync(repository, descriptor, cancellationToken);
        using var ms = new MemoryStream();
        await stream.CopyToAsync(ms, cancellationToken);
        return ms.ToArray();
    }

    /// <summary>
    /// Makes sure the repository has the blob: skipped when a HEAD finds it, mounted from
    /// <paramref name="mountFrom"/> (another repository of the same registry) when given and allowed, else uploaded
    /// from <paramref name="openContent"/> (called again for each attempt).
    /// </summary>
    public async Task<BlobPushResult> PushBlobAsync(ImageReference repository, Descriptor descriptor, Func<Stream> openContent,
        string? mountFrom = null, CancellationToken cancellationToken = default)
    {
        var digest = descriptor.ParsedDigest;
        if (await BlobExistsAsync(repository, digest, cancellationToken)) return BlobPushResult.AlreadyPresent;

        var scopes = mountFrom is null ? Push(repository) : [.. Push(repository), $"repository:{mountFrom}:pull"];
        var query = mountFrom is null ? "" : $"?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(mountFrom)}";
        var start = Url(repository, "blobs/uploads/" + query);
        Uri location;
        using (var response = await SendAsync(repository, scopes, () => new HttpRequestMessage(HttpMethod.Post, start) { Content = new ByteArrayContent([]) }, cancellationToken))
        {
            if (mountFrom is not null && response.StatusCode == HttpStatusCode.Created) return BlobPushResult.Mounted;
            if (response.StatusCode != HttpStatusCode.Accepted)
                await ThrowForStatusAsync(response, repository, $"blob upload {digest}", cancellationToken);
            location = UploadLocation(response, start);
        }

        if (descriptor.Size <= _options.MonolithicUploadLimit)
        {
            var put = WithQuery(location, "digest=" + Uri.EscapeDataString(digest.ToString()));
            using var response = await SendAsync(repository, scopes, () =>
            {
                var content = new StreamContent(openContent());
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.ContentLength = descriptor.Size;
                return new HttpRequestMessage(HttpMethod.Put, put) { Content = content };
            }, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Created)
                await ThrowForStatusAsync(response, repository, $"blob upload {digest}", cancellationToken);
            return BlobPushResult.Uploaded;
        }

        await using (var source = openContent())
        {
            var buffer = new byte[_options.ChunkSize];
            long offset = 0;
            using var hasher = new HashingWriteStream(null);
            while (true)
            {
                var n = await source.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
                if (n == 0) break;
                await hasher.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                var chunk = buffer[..n];
                var range = $"{offset}-{offset + n - 1}";
                var target = location;
                using var response = await SendAsync(repository, scopes, () =>
                {
                    var content = new ByteArrayContent(chunk);
                    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                    var request = new HttpRequestMessage(HttpMethod.Patch, target) { Content = content };
                    request.Content.Headers.TryAddWithoutValidation("Content-Range", range);
                    return request;
                }, cancellationToken);
                if (response.StatusCode != HttpStatusCode.Accepted)
                    await ThrowForStatusAsync(response, repository, $"blob chunk {range} of {digest}", cancellationToken);
                location = UploadLocation(response, location);
                offset += n;
            }
            if (offset != descriptor.Size || hasher.Digest != digest)
                throw new BlobDigestMismatchException(digest, hasher.Digest, descriptor.Size, offset);
        }
        var close = WithQuery(location, "digest=" + Uri.EscapeDataString(digest.ToString()));
        using (var response = await SendAsync(repository, scopes, () => new HttpRequestMessage(HttpMethod.Put, close) { Content = new ByteArrayContent([]) }, cancellationToken))
        {
            if (response.StatusCode != HttpStatusCode.Created)
                await ThrowForStatusAsync(response, repository, $"blob upload {digest}", cancellationToken);
        }
        return BlobPushResult.Uploaded;
    }

    public Task<BlobPushResult> PushBlobAsync(ImageReference repository, byte[] content, string mediaType, CancellationToken cancellationToken = default) =>
        PushBlobAsync(repository, Descriptor.For(mediaType, content), () => new MemoryStream(content, writable: false), null, cancellationToken);

    // ---------------------------------------------------------------- transport and auth

    private Uri BaseUri(ImageReference reference)
    {
        var scheme = reference.IsLoopback || _options.InsecureRegistries.Contains(reference.Registry) ? "http" : "https";
        return new Uri($"{scheme}://{reference.Endpoint}/v2/");
    }

    private Uri Url(ImageReference reference, string relative) => new(BaseUri(reference), $"{reference.Repository}/{relative}");

    private static string[] Pull(ImageReference r) => [$"repository:{r.Repository}:pull"];
    private static string[] Push(ImageReference r) => [$"repository:{r.Repository}:pull,push"];

    private static HttpRequestMessage ManifestRequest(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        foreach (var type in ManifestAcceptTypes) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        return request;
    }

    private static Uri UploadLocation(HttpResponseMessage response, Uri requestUri)
    {
        var location = response.Headers.Location
            ?? throw new RegistryException($"registry answered an upload request for {requestUri} without a Location header");
        return location.IsAbsoluteUri ? location : new Uri(requestUri, location);
    }

    private static Uri WithQuery(Uri uri, string query) =>
        new(uri.ToString() + (uri.Query.Length > 0 ? "&" : "?") + query);

    /// <summary>
    /// Sends with retries; on a 401 reads the challenge, obtains Basic or Bearer credentials for
    /// <paramref name="scopes"/>, and sends once more. Responses are returned as they are (errors mapped by callers).
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(ImageReference reference, string[] scopes, Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var response = await SendWithRetriesAsync(reference, scopes, build, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized) return response;

        var challenge = PickChallenge(response);
        // Whether this very request carried credentials: with requests in parallel, another one may have learnt the
        // challenge after this one was sent without them.
        var hadAuth = response.RequestMessage?.Headers.Authorization is not null;
        if (challenge is null)
        {
            using (response) await ThrowForStatusAsync(response, reference, "request", cancellationToken);
        }
        _challenges[reference.Registry] = challenge!;
        if (challenge!.IsBearer)
            await FetchTokenAsync(reference, challenge, scopes, cancellationToken);
        else if (challenge.IsBasic && _options.Credentials?.Find(reference.Registry) is null)
        {
            using (response) await ThrowForStatusAsync(response, reference, "request", cancellationToken);
        }
        if (hadAuth && !challenge.IsBearer) return response; // credentials were sent and refused: report that
        response.Dispose();
        return await SendWithRetriesAsync(reference, scopes, build, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendWithRetriesAsync(ImageReference reference, string[] scopes, Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        try
        {
            return await _retry.ExecuteAsync(async ct =>
            {
                using var request = build();
                await AuthorizeAsync(request, reference, scopes, ct);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.RequestTimeout);
                try
                {
                    return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"{request.Method} {request.RequestUri} got no answer within {_options.RequestTimeout}");
                }
            }, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TimeoutException)
        {
            throw new RegistryException($"cannot reach registry {reference.Registry} ({BaseUri(reference)}) for {reference.Repository} after {_options.MaxRetries + 1} attempts: {e.Message}", null, null, e);
        }
    }

    private async Task AuthorizeAsync(HttpRequestMessage request, ImageReference reference, string[] scopes, CancellationToken cancellationToken)
    {
        if (!_challenges.TryGetValue(reference.Registry, out var challenge)) return;
        if (challenge.IsBasic && _options.Credentials?.Find(reference.Registry) is { } credential)
        {
            request.Headers.Authorization = BasicHeader(credential);
        }
        else if (challenge.IsBearer)
        {
            var key = TokenKey(reference, scopes);
            if (!_tokens.TryGetValue(key, out var token) || token.Expires <= DateTimeOffset.UtcNow)
                token = await FetchTokenAsync(reference, challenge, scopes, cancellationToken);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        }
    }

    private static AuthenticationHeaderValue BasicHeader(RegistryCredential credential) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}")));

    private static string TokenKey(ImageReference reference, string[] scopes) => reference.Registry + " " + string.Join(' ', scopes);

    private static AuthChallenge? PickChallenge(HttpResponseMessage response)
    {
        var challenges = response.Headers.WwwAuthenticate.Select(h => AuthChallenge.Parse(h.Scheme, h.Parameter)).ToList();
        return challenges.FirstOrDefault(c => c.IsBearer) ?? challenges.FirstOrDefault(c => c.IsBasic);
    }

    /// <summary>Gets a bearer token from the challenge's realm for the scopes (with Basic credentials when we have them).</summary>
    private async Task<(string Token, DateTimeOffset Expires)> FetchTokenAsync(ImageReference reference, AuthChallenge challenge, string[] scopes, CancellationToken cancellationToken)
    {
        if (challenge.Realm is not { Length: > 0 } realm || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
            throw new RegistryAuthenticationException($"registry {reference.Registry} sent a Bearer challenge without a usable realm");
        var query = new List<string>();
        if (challenge.Service is { } service) query.Add("service=" + Uri.EscapeDataString(service));
        foreach (var scope in scopes) query.Add("scope=" + Uri.EscapeDataString(scope));
        var credential = _options.Credentials?.Find(reference.Registry);
        var uri = WithQuery(realmUri, string.Join('&', query));

        var response = await _retry.ExecuteAsync(async ct =>
        {
            HttpRequestMessage request;
            if (credential?.IdentityToken is { } refresh)
            {
                var form = new Dictionary<string, string>
                {
                    ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["service"] = challenge.Service ?? "",
                    ["scope"] = string.Join(' ', scopes), ["client_id"] = _options.UserAgent,
                };
                request = new HttpRequestMessage(HttpMethod.Post, realmUri) { Content = new FormUrlEncodedContent(form) };
            }
            else
            {
                request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (credential is not null) request.Headers.Authorization = BasicHeader(credential);
            }
            using (request)
            {
                // A token service that accepts and never answers is as bounded as the registry itself.
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.RequestTimeout);
                try { return await _http.SendAsync(request, timeout.Token); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"token service {realmUri.Host} got no answer within {_options.RequestTimeout}");
                }
            }
        }, cancellationToken);
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                throw new RegistryAuthenticationException(credential is null
                    ? $"token service {realmUri.Host} refused anonymous access to {reference.Registry}/{reference.Repository} ({string.Join(' ', scopes)}); log in first"
                    : $"token service {realmUri.Host} rejected the credentials for user '{credential.Username}' on {reference.Registry}");
            if (!response.IsSuccessStatusCode)
                throw new RegistryAuthenticationException($"token service {realmUri.Host} answered {(int)response.StatusCode} {response.ReasonPhrase} for {reference.Registry}");
            using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            var token = (json.RootElement.TryGetProperty("token", out var t) ? t.GetString() : null)
                ?? (json.RootElement.TryGetProperty("access_token", out var a) ? a.GetString() : null)
                ?? throw new RegistryAuthenticationException($"token service {realmUri.Host} answered without a token");
            var lifetime = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0 ? seconds : 60;
            var entry = (token, DateTimeOffset.UtcNow.AddSeconds(Math.Max(10, lifetime - 10)));
            _tokens[TokenKey(reference, scopes)] = entry;
            return entry;
        }
    }

    /// <summary>Maps an error response to an exception naming the registry, repository, what was asked and the registry's own error.</summary>
    private async Task ThrowForStatusAsync(HttpResponseMessage response, ImageReference reference, string what, CancellationToken cancellationToken)
    {
        var (code, detail) = await ReadErrorAsync(response, cancellationToken);
        var where = $"{reference.Registry}/{reference.Repository}";
        var suffix = detail.Length > 0 ? $": {detail}" : "";
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new RegistryAuthenticationException(
                _options.Credentials?.Find(reference.Registry) is { } c
                    ? $"{where}: {what} unauthorized (401): registry rejected the credentials of user '{c.Username}'{suffix}"
                    : $"{where}: {what} unauthorized (401): the registry requires credentials and none are configured for {reference.Registry}{suffix}", code),
            HttpStatusCode.Forbidden => new RegistryAccessDeniedException($"{where}: {what} denied (403){suffix}", code),
            HttpStatusCode.NotFound => new RegistryNotFoundException($"{where}: {what} not found (404){suffix}", code),
            HttpStatusCode.TooManyRequests => new RegistryRateLimitedException(
                $"{where}: {what} rate limited (429 Too Many Requests) after {_options.MaxRetries + 1} attempts" +
                (response.Headers.RetryAfter?.Delta is { } d ? $"; retry after {d.TotalSeconds:0}s" : "") + suffix, code),
            _ => new RegistryException($"{where}: {what} failed: {(int)response.StatusCode} {response.ReasonPhrase}{suffix}", response.StatusCode, code),
        };
    }

    private static async Task<(string? Code, string Detail)> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (text.Length == 0) return (null, "");
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
            {
                var first = errors[0];
                var code = first.TryGetProperty("code", out var c) ? c.GetString() : null;
                var message = first.TryGetProperty("message", out var m) ? m.GetString() : null;
                return (code, $"{code} {message}".Trim());
            }
            return (null, text.Length > 200 ? text[..200] : text);
        }
        catch (JsonException)
        {
            return (null, "");
        }
    }
}
