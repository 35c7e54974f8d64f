using BuildFarm.Coordinator.Export;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Builds;

public sealed partial class BuildRunner
{
    /// <summary>Off: every layer is uploaded by the push after the graph (as before the overlap existed).</summary>
    public bool PrepushLayers { get; init; } = true;

    /// <summary>The names a build pushes to (its --push tags, type=registry outputs, type=image,push=true outputs), as
    /// <see cref="WriteOutputsAsync"/> pushes them.</summary>
    private static List<string> PushNames(BuildSpec spec, IReadOnlyList<string> names)
    {
        var pushed = new List<string>();
        foreach (var output in spec.Outputs)
        {
            if (output.Type != "registry" && !(output.Type == "image" && output.Attrs.GetValueOrDefault("push") == "true")) continue;
            pushed.AddRange(output.Attrs.TryGetValue("name", out var n) ? n.Split(',', StringSplitOptions.RemoveEmptyEntries) : names);
        }
        if (spec.Push) pushed.AddRange(names);
        return [.. pushed.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The overlapped push of a build that pushes or writes an OCI archive (null: neither, or a name does not parse —
    /// the final push reports that). With the build's own credentials it has a client of its own, which dies with it.</summary>
    private LayerPrepush? StartPrepush(BuildSpec spec, IReadOnlyList<PlatformBuild> targets, IRegistryCredentialProvider? pushCredentials,
        CancellationToken cancellationToken)
    {
        if (!PrepushLayers) return null;
        var names = PushNames(spec, [.. spec.Tags]);
        // An OCI archive is staged from the same layout (its blobs linked, not copied again after the graph).
        if (names.Count == 0 && !spec.Outputs.Any(o => o.Type == "oci")) return null;
        var repositories = new List<ImageReference>();
        foreach (var name in names)
        {
            try { repositories.Add(ImageReference.Parse(name)); }
            catch (FormatException) { return null; }
        }
        LayerPrepush prepush;
        if (repositories.Count == 0)
            prepush = new LayerPrepush(store, null, ownsClient: false, repositories, scratch, cancellationToken);
        else if (pushCredentials is not null)
            prepush = new LayerPrepush(store, new RegistryClient(new RegistryClientOptions { Credentials = pushCredentials }), ownsClient: true,
                repositories, scratch, cancellationToken);
        else if (Registry?.Invoke() is { } shared)
            prepush = new LayerPrepush(store, shared, ownsClient: false, repositories, scratch, cancellationToken);
        else
            return null;
        // Base layers go once downloaded (they are usually the biggest, and known first).
        foreach (var resolved in targets.SelectMany(t => t.Resolved.Values).Distinct())
            resolved.Downloaded.ContinueWith(done =>
            {
                if (!done.IsCompletedSuccessfully) return;
                foreach (var layer in resolved.Layers) prepush.Offer(layer);
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        return prepush;
    }
}
