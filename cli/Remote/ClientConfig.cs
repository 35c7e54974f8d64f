using System.Text.Json;

using BuildFarm.Cli.Commands;

namespace BuildFarm.Cli.Remote;

/// <summary>
/// The client's config file, <c>$BUILDFARM_HOME/config.json</c> (default <c>~/.buildfarm/config.json</c>):
/// <c>{"token": "…", "tlscacert": "/path/ca.pem"}</c>. Both are the fallbacks of <c>--token</c>/BUILDFARM_TOKEN and
/// <c>--tlscacert</c>/BUILDFARM_TLS_CA. Keep it 0600: it holds a secret.
/// </summary>
public sealed record ClientConfig(string? Token, string? TlsCaCert)
{
    public static ClientConfig Load(string path)
    {
        if (!File.Exists(path)) return new ClientConfig(null, null);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new UsageException($"{path}: expected a JSON object");
            string? Text(string name)
            {
                if (!document.RootElement.TryGetProperty(name, out var value)) return null;
                return value.ValueKind == JsonValueKind.String
                    ? value.GetString()
                    : throw new UsageException($"{path}: \"{name}\" must be a string");
            }
            foreach (var property in document.RootElement.EnumerateObject())
                if (property.Name is not ("token" or "tlscacert"))
                    throw new UsageException($"{path}: unknown key \"{property.Name}\" (known: token, tlscacert)");
            var ca = Text("tlscacert");
            return new ClientConfig(Text("token"), ca is null ? null : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, ca)));
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: not JSON: {e.Message}");
        }
    }
}
