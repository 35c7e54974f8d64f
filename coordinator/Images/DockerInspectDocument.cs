using System.Text.Json.Nodes;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// What <c>docker image inspect</c> prints for an image, built from its config and the names it has here: Id (config
/// digest), RepoTags, RepoDigests, Created, Config (docker's defaults filled in), Architecture, Os, Size, RootFS.
/// </summary>
public static class DockerInspectDocument
{
    // Docker's container config fields with the values it prints when an image's config leaves them out.
    private static readonly (string Name, Func<JsonNode?> Default)[] ConfigDefaults =
    [
        ("Hostname", () => ""), ("Domainname", () => ""), ("User", () => ""),
        ("AttachStdin", () => false), ("AttachStdout", () => false), ("AttachStderr", () => false),
        ("Tty", () => false), ("OpenStdin", () => false), ("StdinOnce", () => false),
        ("Env", () => null), ("Cmd", () => null), ("Image", () => ""), ("Volumes", () => null),
        ("WorkingDir", () => ""), ("Entrypoint", () => null), ("OnBuild", () => null), ("Labels", () => null),
    ];

    public static JsonObject Build(StoredImage image, IReadOnlyList<LocalImage> names)
    {
        var raw = JsonNode.Parse(image.ConfigBytes)!.AsObject();
        var config = new JsonObject();
        var given = raw["config"] as JsonObject;
        foreach (var (name, value) in ConfigDefaults)
            config[name] = given?[name]?.DeepClone() ?? value();
        foreach (var (name, value) in given ?? [])
            if (!config.ContainsKey(name)) config[name] = value?.DeepClone();

        var document = new JsonObject
        {
            ["Id"] = image.ConfigDigest.ToString(),
            ["RepoTags"] = new JsonArray([.. names.Select(n => n.Name).Order(StringComparer.Ordinal).Select(n => (JsonNode)n)]),
            ["RepoDigests"] = new JsonArray([.. names.SelectMany(n => n.RepoDigests ?? []).Distinct().Order(StringComparer.Ordinal).Select(d => (JsonNode)d)]),
            ["Parent"] = "",
            ["Comment"] = image.Config.History is { Count: > 0 } h ? h[^1].Comment ?? "" : "",
            ["Created"] = image.Config.Created ?? "",
            ["DockerVersion"] = "",
            ["Author"] = image.Config.Author ?? "",
            ["Config"] = config,
            ["Architecture"] = image.Config.Architecture,
        };
        if (image.Config.Variant is { Length: > 0 } variant) document["Variant"] = variant;
        document["Os"] = image.Config.Os;
        document["Size"] = image.Manifest.Layers.Sum(l => l.Size);
        document["RootFS"] = new JsonObject
        {
            ["Type"] = "layers",
            ["Layers"] = new JsonArray([.. image.Config.RootFs.DiffIds.Select(d => (JsonNode)d)]),
        };
        document["Metadata"] = new JsonObject { ["LastTagTime"] = names.Count == 0 ? "0001-01-01T00:00:00Z" : names.Max(n => n.Created).ToString("O") };
        return document;
    }
}
