using System.Security.Cryptography;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;

namespace BuildFarm.Worker.FileOps;

/// <summary>ADD &lt;url&gt;: downloads to a file with mode 0600 whose mtime is the server's Last-Modified (as
/// BuildKit does), verifying --checksum when given.</summary>
public sealed class UrlFetcher(HttpClient http)
{
    /// <summary>Downloads <paramref name="url"/> into <paramref name="directory"/>; returns the file path.
    /// The file is named after the last path segment of the URL (or "index.html" when there is none).</summary>
    public async Task<string> FetchAsync(Uri url, string directory, Digest? checksum, CancellationToken cancellationToken)
    {
        var name = FileNameOf(url);
        // The name comes from the Dockerfile's URL ("%2F..%2F" unescapes to a path): written as one name, never followed.
        try
        {
            ConfinedDirectory.CheckName(name, url.ToString());
        }
        catch (UnsafePathException e)
        {
            throw new CopyException($"cannot download {url}: its file name '{name}' is not a plain name", e);
        }
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new CopyException($"failed to download {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        var path = Path.Combine(directory, name);
        using var root = ConfinedRoot.Open(directory);
        using var target = root.OpenDirectory("", create: false, url.ToString());
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var body = await response.Content.ReadAsStreamAsync(cancellationToken))
        await using (var file = target.CreateFile(name, 0b110_000_000))
        {
            var buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
        }
        var actual = Digest.FromSha256Bytes(sha.GetHashAndReset());
        if (checksum is { } expected && expected != actual)
            throw new CopyException($"checksum mismatch for {url}: expected {expected}, got {actual}");
        target.SetMode(name, 0b110_000_000);
        var modified = response.Content.Headers.LastModified ?? DateTimeOffset.UnixEpoch;
        target.SetTimes(name, modified.ToUnixTimeSeconds(), 0);
        return path;
    }

    public static string FileNameOf(Uri url)
    {
        var last = url.AbsolutePath.TrimEnd('/').Split('/').LastOrDefault();
        return string.IsNullOrEmpty(last) ? "index.html" : Uri.UnescapeDataString(last);
    }
}
