using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BuildFarm.Oci.Registry;

/// <summary>
/// Writes logins into Docker's <c>config.json</c> the way <c>docker login</c> does, so docker, skopeo and buildfarm share
/// them: <c>auths[registry].auth</c> = base64("user:password"), or, when <c>credHelpers[registry]</c> or <c>credsStore</c>
/// names a helper, <c>docker-credential-NAME store/erase</c> with an empty <c>auths</c> entry. Every other key of the
/// file is kept; the file is replaced atomically with mode 0600.
/// </summary>
public sealed class DockerConfigFile(string directory)
{
    public string Path => System.IO.Path.Combine(directory, "config.json");

    /// <summary>Docker Hub's logins live under its historical key.</summary>
    public static string KeyFor(string registry) =>
        registry is ImageReference.DockerHub or "index.docker.io" or "registry-1.docker.io" ? "https://index.docker.io/v1/" : registry;

    public async Task StoreAsync(string registry, string username, string password, CancellationToken cancellationToken)
    {
        var config = await ReadAsync(cancellationToken);
        var key = KeyFor(registry);
        var auths = config["auths"] as JsonObject ?? [];
        config["auths"] = auths;
        if (HelperFor(config, key) is { } helper)
        {
            await new CredentialHelper(helper).StoreAsync(key, username, password, cancellationToken);
            auths[key] = new JsonObject();
        }
        else
            auths[key] = new JsonObject { ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")) };
        await WriteAsync(config, cancellationToken);
    }

    /// <summary>Removes a login; false when there was none.</summary>
    public async Task<bool> EraseAsync(string registry, CancellationToken cancellationToken)
    {
        var config = await ReadAsync(cancellationToken);
        var key = KeyFor(registry);
        if (config["auths"] is not JsonObject auths || !auths.ContainsKey(key)) return false;
        if (HelperFor(config, key) is { } helper) await new CredentialHelper(helper).EraseAsync(key, cancellationToken);
        auths.Remove(key);
        await WriteAsync(config, cancellationToken);
        return true;
    }

    private static string? HelperFor(JsonObject config, string key) =>
        config["credHelpers"] is JsonObject helpers && helpers[key]?.GetValue<string>() is { Length: > 0 } own ? own
        : config["credsStore"]?.GetValue<string>() is { Length: > 0 } store ? store : null;

    private async Task<JsonObject> ReadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path)) return [];
        var bytes = await File.ReadAllBytesAsync(Path, cancellationToken);
        try
        {
            return JsonNode.Parse(bytes) as JsonObject ?? throw new FormatException($"docker config '{Path}' is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException($"docker config '{Path}' is not valid JSON (line {e.LineNumber + 1}): fix or remove it", e);
        }
    }

    private async Task WriteAsync(JsonObject config, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var temp = $"{Path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        // The file holds passwords: readable by its owner only, from the moment it exists.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var file = new FileStream(temp, options))
            await file.WriteAsync(Encoding.UTF8.GetBytes(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"), cancellationToken);
        File.Move(temp, Path, overwrite: true);
    }
}
