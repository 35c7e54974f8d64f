using System.Text.Json;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Protos.Cluster;
using OciHealth = BuildFarm.Oci.Images.HealthConfig;

namespace BuildFarm.Coordinator.Export;

/// <summary>
/// Writes the image config and manifest of a finished build into the content store: the target stage's config
/// (over its base image's), one history entry per instruction as BuildKit writes them, and the layer chain.
/// Timestamps come from the step records, so an unchanged rebuild yields the same digests.
/// </summary>
public sealed class ImageAssembler(IContentStore store)
{
    private const string HistoryComment = "buildkit.dockerfile.v0";

    public async Task<ExportedImage> AssembleAsync(BuildPlan plan, BuildFinished finished, IReadOnlyDictionary<string, ResolvedImage> images,
        IReadOnlyDictionary<string, string> extraLabels, DateTimeOffset? sourceDateEpoch, Platform platform, CancellationToken cancellationToken)
    {
        var chain = new List<PlannedStep>();
        for (var step = plan.FinalStep; ; step = plan.GetStep(step.ParentId))
        {
            chain.Add(step);
            if (step.ParentId is null) break;
        }
        chain.Reverse();
        var root = chain[0];
        var baseImage = root.BaseImage is { } reference ? ResolvedImageKey.Find(images, reference, root.Platform) : null;
        var outcomes = finished.Outcomes.ToDictionary(o => o.Index);
        var indexOf = plan.Steps.Select((s, i) => (s.Id, i)).ToDictionary(p => p.Id, p => p.i);

        var history = new List<HistoryEntry>(baseImage?.Config.History ?? []);
        var baseTime = baseImage?.Config.Created is { } created && ImageConfig.TryParseTime(created, out var parsed)
            ? parsed
            : DateTimeOffset.UnixEpoch;
        var last = sourceDateEpoch ?? baseTime;
        // BuildKit writes no history entry for ONBUILD (the trigger lives in the config only).
        foreach (var step in chain.Where(s => s.Kind != StepKind.From && s.Expanded is not OnbuildInstruction))
        {
            var outcome = outcomes.GetValueOrDefault(indexOf[step.Id]);
            // A WORKDIR whose directory existed made no layer (BuildKit marks it empty_layer too).
            var hasLayer = step.Kind is StepKind.Run or StepKind.Copy or StepKind.Add
                           || (step.Kind is StepKind.Workdir && outcome?.Result is { EmptyLayer: false });
            if (hasLayer && outcome?.Result is { CompletedUnixMs: > 0 } result)
                last = sourceDateEpoch ?? DateTimeOffset.FromUnixTimeMilliseconds(result.CompletedUnixMs);
            history.Add(new HistoryEntry
            {
                Created = ImageConfig.FormatTime(last),
                CreatedBy = CreatedBy(step),
                Comment = HistoryComment,
                EmptyLayer = hasLayer ? null : true,
            });
        }

        var state = plan.FinalStep.Config;
        var inherited = baseImage?.Config.Config;
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in inherited?.Labels ?? new Dictionary<string, string>()) labels[k] = v;
        foreach (var (k, v) in state.Labels) labels[k] = v;
        foreach (var (k, v) in extraLabels) labels[k] = v;

        var layers = finished.FinalLayers.Select(l => new Descriptor
        {
            MediaType = OciMediaType(l.MediaType),
            Digest = l.Digest,
            Size = l.Size,
        }).ToList();
        var config = new ImageConfig
        {
            Created = ImageConfig.FormatTime(last),
            Author = state.Author.Length > 0 ? state.Author : null,
            Architecture = platform.Architecture,
            Os = platform.Os,
            Variant = platform.Variant,
            Config = new ContainerConfig
            {
                User = NullIfEmpty(state.User),
                Env = state.Env.Count > 0 ? state.Env : null,
                Entrypoint = state.Entrypoint ?? inherited?.Entrypoint,
                // Docker: an ENTRYPOINT set in the Dockerfile drops the base image's CMD.
                Cmd = state.Cmd ?? (state.Entrypoint is null ? inherited?.Cmd : null),
                WorkingDir = NullIfEmpty(state.WorkingDir),
                ExposedPorts = Set(state.ExposedPorts.Concat(inherited?.ExposedPorts?.Keys ?? [])),
                Volumes = Set(state.Volumes.Concat(inherited?.Volumes?.Keys ?? [])),
                Labels = labels.Count > 0 ? labels : null,
                StopSignal = NullIfEmpty(state.StopSignal) ?? inherited?.StopSignal,
                Healthcheck = state.Healthcheck is { } h ? ToHealth(h) : inherited?.Healthcheck,
                OnBuild = state.OnBuild.Count > 0 ? state.OnBuild : null,
                Shell = state.Shell.SequenceEqual(ImageConfigState.DefaultShell) ? null : state.Shell,
            },
            RootFs = new RootFs { DiffIds = [.. finished.FinalLayers.Select(l => l.DiffId)] },
            History = history,
        };
        var configBytes = config.ToJson();
        var configDigest = await store.PutAsync(new MemoryStream(configBytes, writable: false), Digest.Compute(configBytes), cancellationToken);
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = configDigest.ToString(), Size = configBytes.Length },
            Layers = layers,
        };
        var manifestBytes = manifest.ToJson();
        var manifestDigest = await store.PutAsync(new MemoryStream(manifestBytes, writable: false), Digest.Compute(manifestBytes), cancellationToken);
        return new ExportedImage(manifest, manifestBytes, manifestDigest, configBytes, configDigest);
    }

    /// <summary>History text as BuildKit writes it ("RUN /bin/sh -c make # buildkit", "ENV A=b").</summary>
    public static string CreatedBy(PlannedStep step) => step.Kind switch
    {
        StepKind.Run => "RUN " + string.Join(' ', step.RunArgs ?? []) + " # buildkit",
        StepKind.Copy or StepKind.Add => step.SourceText + " # buildkit",
        _ => step.CreatedBy ?? step.SourceText,
    };

    // Docker's layer media types name the same bytes; an OCI manifest must use the OCI names.
    private static string OciMediaType(string mediaType) => mediaType switch
    {
        MediaTypes.DockerLayerGzip => MediaTypes.OciLayerGzip,
        "application/vnd.docker.image.rootfs.diff.tar" => MediaTypes.OciLayer,
        "" => MediaTypes.OciLayerGzip,
        _ => mediaType,
    };

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static IReadOnlyDictionary<string, JsonElement>? Set(IEnumerable<string> keys)
    {
        var distinct = keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return distinct.Count == 0 ? null : ContainerConfig.EmptySet(distinct);
    }

    private static OciHealth ToHealth(Dockerfile.Instructions.HealthConfig h) => new()
    {
        Test = h.Test,
        Interval = h.Interval.Ticks == 0 ? null : h.Interval.Ticks * 100,
        Timeout = h.Timeout.Ticks == 0 ? null : h.Timeout.Ticks * 100,
        StartPeriod = h.StartPeriod.Ticks == 0 ? null : h.StartPeriod.Ticks * 100,
        StartInterval = h.StartInterval.Ticks == 0 ? null : h.StartInterval.Ticks * 100,
        Retries = h.Retries == 0 ? null : h.Retries,
    };
}
