using System.Text.Encodings.Web;
using System.Text.Json;
using BuildFarm.Coordinator.Builds;

namespace BuildFarm.Cli;

/// <summary>
/// <c>--metadata-file</c>: what buildx writes (its exporter response plus <c>buildx.build.ref</c>), keys sorted as Go
/// marshals a map, two-space indented, '+' left as is (as Go writes it). A multi-platform build's digest and descriptor name its image index, and there
/// is no <c>containerimage.config.digest</c> (an index has no single config), as BuildKit's image exporter answers.
/// Written without reflection: the native client links this file.
/// </summary>
public static class BuildMetadata
{
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>buildx's build ref is BUILDER/NODE/REF; ours is buildfarm/NODE/BUILD-ID (the id <c>buildfarm watch</c> takes),
    /// NODE being "embedded", "engine" (the resident engine, or any unix socket) or the server's host:port.</summary>
    public static string BuildRef(string? server, string buildId)
    {
        var node = server switch
        {
            null => "embedded",
            _ when server.StartsWith("unix:", StringComparison.Ordinal) => "engine",
            _ => (server.Contains("://", StringComparison.Ordinal) ? server[(server.IndexOf("://", StringComparison.Ordinal) + 3)..] : server).TrimEnd('/').Replace('/', '_'),
        };
        return $"buildfarm/{node}/{buildId}";
    }

    public static byte[] Write(BuildOutcome outcome, string buildRef)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (outcome.BuildId.Length > 0) json.WriteString("buildx.build.ref", buildRef);
            if (outcome.ConfigDigest is { Length: > 0 } config) json.WriteString("containerimage.config.digest", config);
            json.WriteStartObject("containerimage.descriptor");
            json.WriteString("mediaType", outcome.ManifestMediaType is { Length: > 0 } mediaType ? mediaType : OciManifest);
            json.WriteString("digest", outcome.ManifestDigest);
            if (outcome.ManifestSize > 0) json.WriteNumber("size", outcome.ManifestSize);
            json.WriteEndObject();
            json.WriteString("containerimage.digest", outcome.ManifestDigest);
            if (outcome.ImageNames.Count > 0) json.WriteString("image.name", string.Join(',', outcome.ImageNames));
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
