using BuildFarm.Protos.V1;
using Google.Protobuf;

namespace BuildFarm.Client;

/// <summary>
/// One <c>--secret</c> value read as the managed CLI reads it (cli/Commands/BuildArguments.cs ReadSecretAsync, buildx's
/// rules): <c>id=ID[,src=PATH|env=VAR][,type=file|env]</c>; with neither src nor env, a variable named like the id wins,
/// else a file of that name. The value travels in the spec as the managed client sends it. A value the managed CLI would
/// refuse (no id, an unset variable, a missing or too large file) yields null: it refuses it with its own words.
/// </summary>
public static class SecretArgument
{
    /// <summary>BuildKit's limit, as the managed CLI's BuildArguments.MaxSecretBytes.</summary>
    private const int MaxSecretBytes = 500 * 1024;

    public static async Task<SecretSource?> TryReadAsync(string value, CancellationToken cancellationToken)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) fields[part] = "";
            else fields[part[..eq]] = part[(eq + 1)..];
        }
        if (!fields.TryGetValue("id", out var id) || id.Length == 0) return null;
        fields.TryGetValue("type", out var type);
        var src = fields.GetValueOrDefault("src") ?? fields.GetValueOrDefault("source");
        var env = fields.GetValueOrDefault("env");
        if (type == "env" && env is null) env = src ?? id;
        if (src is null && env is null)
        {
            if (Environment.GetEnvironmentVariable(id) is not null) env = id;
            else src = id;
        }
        byte[] bytes;
        if (env is not null)
        {
            if (Environment.GetEnvironmentVariable(env) is not { } text) return null;
            bytes = System.Text.Encoding.UTF8.GetBytes(text);
        }
        else
        {
            var path = Path.GetFullPath(src!);
            if (!File.Exists(path)) return null;
            try
            {
                // at most one byte past the limit: a device or a huge file is refused (by the managed CLI), never loaded
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
                var buffer = new byte[MaxSecretBytes + 1];
                var total = 0;
                int read;
                while (total < buffer.Length && (read = await file.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0) total += read;
                bytes = buffer[..total];
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
        return bytes.Length > MaxSecretBytes ? null : new SecretSource { Id = id, Value = ByteString.CopyFrom(bytes) };
    }
}
