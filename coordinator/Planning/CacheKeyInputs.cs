using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// Everything that can change a step's result, and nothing else (README.md, "How a build goes"). The key is
/// <c>sha256:&lt;hex&gt;</c> of <see cref="ToCanonicalJson"/>. Maps are encoded with sorted keys, so insertion order never
/// matters. Secret values and cache-mount contents have no field here: they cannot reach a key.
/// Nor do a build's RUN cgroup limits (pids, memory, CPU; protos RunLimits, per build in StepInputs): a limit decides
/// whether a step finishes, not what a finished step writes, and only finished steps are recorded. So builds asking
/// different limits share one record and one run (the run uses the limits of the build whose inputs it took). BuildKit
/// differs here by accident rather than design: it hashes an ExecOp's whole Meta, so `buildx --ulimit` lands in its
/// key (it strips the per-build proxy env from that same hash), while its worker's own limits never do.
/// </summary>
public sealed record CacheKeyInputs
{
    /// <summary>Bumped when the encoding changes, so that old records stop matching instead of matching wrongly.</summary>
    public const int SchemaVersion = 1;

    private static readonly IReadOnlyDictionary<string, string> NoEntries = new Dictionary<string, string>();

    /// <summary>os/arch[/variant] the step produces, e.g. linux/amd64.</summary>
    public required string Platform { get; init; }

    public required CacheKeyParent Parent { get; init; }

    /// <summary>The instruction after variable expansion, keyword first, flags excluded (they are in <see cref="Flags"/>).</summary>
    public required string Instruction { get; init; }

    /// <summary>The flags that change the result (--chown, --chmod, --link, --exclude, --network, --parents, ...), expanded.</summary>
    public IReadOnlyDictionary<string, string> Flags { get; init; } = NoEntries;

    /// <summary>Build args the step can see (RUN: the ARGs in scope; predefined proxy args only when declared).</summary>
    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = NoEntries;

    /// <summary>Environment the step can see (RUN).</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = NoEntries;

    /// <summary>COPY/ADD from the context: <see cref="ContentChecksum"/> of exactly the selected files; null otherwise or not yet known.</summary>
    public string? ContentChecksum { get; init; }

    /// <summary>For COPY --from / RUN --mount from=: the stage or image named there → its last step's key or image digest.</summary>
    public IReadOnlyDictionary<string, string> SourceStages { get; init; } = NoEntries;

    /// <summary>RUN --mount specs, normalised (secret and ssh mounts keep only their identity, never a value).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Mounts { get; init; } = [];

    public JsonObject ToJsonObject()
    {
        var mounts = new JsonArray();
        foreach (var m in Mounts)
            mounts.Add(ToJson(m));
        return new JsonObject
        {
            ["v"] = SchemaVersion,
            ["platform"] = Platform,
            ["parent"] = new JsonObject
            {
                ["kind"] = Parent.Kind switch
                {
                    CacheKeyParentKind.Step => "step",
                    CacheKeyParentKind.BaseImage => "image",
                    _ => "scratch",
                },
                ["value"] = Parent.Value,
            },
            ["instruction"] = Instruction,
            ["flags"] = ToJson(Flags),
            ["buildArgs"] = ToJson(BuildArgs),
            ["env"] = ToJson(Env),
            ["contentChecksum"] = ContentChecksum,
            ["sourceStages"] = ToJson(SourceStages),
            ["mounts"] = mounts,
        };
    }

    public string ToCanonicalJson() => CanonicalJson.Serialize(ToJsonObject());

    /// <summary>The step's cache key: sha256 of the canonical JSON, as <c>sha256:&lt;hex&gt;</c>.</summary>
    public string ComputeKey() => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(CanonicalJson.SerializeToUtf8(ToJsonObject())));

    /// <summary>Names every input that differs from <paramref name="other"/> (this = before, other = after), sorted by name.</summary>
    public IReadOnlyList<CacheKeyDifference> Differences(CacheKeyInputs other) => Differences(ToJsonObject(), other.ToJsonObject());

    /// <summary>The same comparison over stored inputs JSON (step records keep it), so records of another schema
    /// version still compare.</summary>
    public static IReadOnlyList<CacheKeyDifference> Differences(JsonObject beforeInputs, JsonObject afterInputs)
    {
        var before = Flatten(beforeInputs);
        var after = Flatten(afterInputs);
        var names = before.Keys.Union(after.Keys).OrderBy(k => k, StringComparer.Ordinal);
        var result = new List<CacheKeyDifference>();
        foreach (var name in names)
        {
            before.TryGetValue(name, out var b);
            after.TryGetValue(name, out var a);
            if (b != a)
                result.Add(new CacheKeyDifference(name, b, a));
        }
        return result;
    }

    private static JsonObject ToJson(IReadOnlyDictionary<string, string> map)
    {
        var obj = new JsonObject();
        foreach (var (k, v) in map)
            obj[k] = v;
        return obj;
    }

    // Leaf path → canonical value text; "parent.value", "buildArgs.FOO", "mounts[0].target".
    private static Dictionary<string, string?> Flatten(JsonObject root)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        Visit("", root);
        return result;

        void Visit(string path, JsonNode? node)
        {
            switch (node)
            {
                case JsonObject obj when obj.Count > 0:
                    foreach (var (k, v) in obj)
                        Visit(path.Length == 0 ? k : $"{path}.{k}", v);
                    break;
                case JsonArray arr when arr.Count > 0:
                    for (var i = 0; i < arr.Count; i++)
                        Visit($"{path}[{i}]", arr[i]);
                    break;
                case JsonObject or JsonArray:
                    break;
                case JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.String:
                    result[path] = value.GetValue<string>();
                    break;
                case null:
                    break;
                default:
                    result[path] = CanonicalJson.Serialize(node);
                    break;
            }
        }
    }
}
