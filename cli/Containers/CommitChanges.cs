using System.Text.Json;
using BuildFarm.Oci.Images;

namespace BuildFarm.Cli.Containers;

/// <summary>
/// <c>commit --change</c>: the Dockerfile instructions docker accepts there that only touch the config — CMD and
/// ENTRYPOINT (JSON or shell form), ENV and LABEL (k=v), WORKDIR, USER. Anything else is an error naming it.
/// </summary>
public static class CommitChanges
{
    public static ContainerConfig Apply(ContainerConfig config, IReadOnlyList<string> changes)
    {
        foreach (var change in changes)
        {
            var text = change.Trim();
            var space = text.IndexOfAny([' ', '\t']);
            var keyword = (space < 0 ? text : text[..space]).ToUpperInvariant();
            var rest = space < 0 ? "" : text[(space + 1)..].Trim();
            if (rest.Length == 0) throw new ArgumentException($"--change '{change}': {keyword} needs a value");
            config = keyword switch
            {
                "CMD" => config with { Cmd = Command(rest, change) },
                "ENTRYPOINT" => config with { Entrypoint = Command(rest, change) },
                "WORKDIR" => config with { WorkingDir = rest },
                "USER" => config with { User = rest },
                "ENV" => config with { Env = WithEnv(config.Env ?? [], KeyValue(rest, change)) },
                "LABEL" => config with { Labels = WithLabel(config.Labels, KeyValue(rest, change)) },
                _ => throw new ArgumentException($"--change '{change}': {keyword} is not supported (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, USER)"),
            };
        }
        return config;
    }

    private static IReadOnlyList<string> Command(string value, string change)
    {
        if (!value.StartsWith('[')) return ["/bin/sh", "-c", value];
        try
        {
            return JsonSerializer.Deserialize<string[]>(value) ?? [];
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"--change '{change}': not a JSON array of strings: {e.Message}");
        }
    }

    private static (string Key, string Value) KeyValue(string text, string change)
    {
        var eq = text.IndexOf('=');
        var space = text.IndexOf(' ');
        if (eq > 0 && (space < 0 || eq < space)) return (text[..eq], text[(eq + 1)..].Trim('"'));
        if (space > 0) return (text[..space], text[(space + 1)..].Trim()); // the old "ENV key value" form
        throw new ArgumentException($"--change '{change}': expected KEY=VALUE");
    }

    private static IReadOnlyList<string> WithEnv(IReadOnlyList<string> env, (string Key, string Value) kv) =>
        [.. env.Where(e => !e.StartsWith(kv.Key + "=", StringComparison.Ordinal)), $"{kv.Key}={kv.Value}"];

    private static IReadOnlyDictionary<string, string> WithLabel(IReadOnlyDictionary<string, string>? labels, (string Key, string Value) kv)
    {
        var copy = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in labels ?? new Dictionary<string, string>()) copy[k] = v;
        copy[kv.Key] = kv.Value;
        return copy;
    }
}
