using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using ProtoHeredoc = BuildFarm.Protos.Cluster.Heredoc;
using RunMountSpec = BuildFarm.Protos.Cluster.RunMountSpec;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// Turns the planner's DAG (with filled keys) into the engine's graph: one node per planned step, FROM images as
/// base nodes with their layers, config-only steps as metadata nodes, and a spec for every step a worker runs.
/// </summary>
public static class PlanGraphBuilder
{
    public static BuildGraph Build(BuildPlan plan, PlanKeys keys, IReadOnlyDictionary<string, ResolvedImage> images,
        string contextDirectory, BuildSpec spec, IReadOnlyList<string> noCacheFilter)
    {
        var graph = new BuildGraph { NoCache = spec.NoCache };
        graph.NoCacheFilter.AddRange(noCacheFilter.Select(s => s.ToLowerInvariant()));
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < plan.Steps.Count; i++) indexOf[plan.Steps[i].Id] = i;
        var imageNodes = new Dictionary<string, int>(StringComparer.Ordinal);
        var secrets = spec.Secrets.ToDictionary(s => s.Id, s => s.Value);

        int ImageNode(string reference)
        {
            if (imageNodes.TryGetValue(reference, out var existing)) return existing;
            var node = new GraphNode { Index = plan.Steps.Count + imageNodes.Count, IsBase = true, Parent = -1 };
            node.BaseLayers.AddRange(images[reference].Layers);
            graph.Nodes.Add(node);
            return imageNodes[reference] = node.Index;
        }

        foreach (var step in plan.Steps)
        {
            var node = new GraphNode
            {
                Index = indexOf[step.Id],
                Parent = step.ParentId is null ? -1 : indexOf[step.ParentId],
                StageIndex = step.StageIndex,
                StageName = step.StageName,
            };
            switch (step.Kind)
            {
                case StepKind.From when step.ParentId is null:
                    node.IsBase = true;
                    if (step.BaseImage is not null) node.BaseLayers.AddRange(images[step.BaseImage].Layers);
                    break;
                case StepKind.From or StepKind.Config:
                    node.MetadataOnly = true;
                    break;
                default:
                    node.Spec = StepSpecFor(plan, step, keys, contextDirectory, spec, secrets);
                    foreach (var source in step.Sources)
                    {
                        var input = source.Kind == StepSourceKind.Stage ? indexOf[source.StepId!] : ImageNode(source.Reference);
                        node.Inputs.Add(new StageInput { Name = source.Reference, Node = input });
                    }
                    break;
            }
            graph.Nodes.Add(node);
        }
        graph.FinalNode = indexOf[plan.FinalStep.Id];
        return graph;
    }

    /// <summary>"[build 2/4] RUN make", as BuildKit names a step.</summary>
    public static string DisplayName(BuildPlan plan, PlannedStep step)
    {
        var stage = plan.Stages[step.StageIndex];
        var position = stage.StepIds.ToList().IndexOf(step.Id) + 1;
        return $"[{step.StageName} {position}/{stage.StepIds.Count}] {step.SourceText}";
    }

    private static StepSpec StepSpecFor(BuildPlan plan, PlannedStep step, PlanKeys keys, string contextDirectory, BuildSpec build,
        IReadOnlyDictionary<string, Google.Protobuf.ByteString> secrets)
    {
        var spec = new StepSpec
        {
            CacheKey = keys.KeyOf(step.Id),
            Kind = step.Kind switch { StepKind.Run => "RUN", StepKind.Copy => "COPY", _ => "ADD" },
            DisplayName = DisplayName(plan, step),
            Location = $"{step.Location.FileName}:{step.Location.StartLine}",
            User = step.Config.User,
            WorkingDir = step.Config.WorkingDir,
            Context = new ContextSource { LocalDir = contextDirectory },
            SourceDateEpoch = build.SourceDateEpoch,
            KeyInputsJson = keys.Inputs[step.Id].ToCanonicalJson(),
            ParentKey = step.ParentId is null ? "" : keys.KeyOf(step.ParentId),
            StepIdentity = $"{step.Location.FileName}#stage={step.StageName}#{step.Id}",
        };
        spec.Shell.AddRange(step.Config.Shell);
        switch (step.Expanded)
        {
            case RunInstruction run:
                spec.Env.AddRange(step.RunEnvironment ?? step.Config.Env);
                if (run.Command.Files.Count > 0)
                {
                    // Heredocs: the worker needs the command line and the bodies, not the wrapped argv.
                    spec.Args.AddRange(run.Command.CmdLine);
                    spec.ExecForm = !run.Command.PrependShell;
                    spec.Heredocs.AddRange(run.Command.Files.Select(f => new ProtoHeredoc { Name = f.Name, Content = f.Data }));
                }
                else
                {
                    spec.Args.AddRange(step.RunArgs ?? run.Command.CmdLine);
                    spec.ExecForm = true;
                }
                spec.Network = run.Network == RunNetwork.Host ? "host" : "none";
                foreach (var mount in run.Mounts.Select(m => m.Literal).OfType<RunMount>())
                {
                    spec.Mounts.Add(ToMount(mount, step));
                    if (mount.Type == MountType.Secret)
                    {
                        var id = mount.CacheId; // resolved once by the planner (SecretMountResolver)
                        if (secrets.TryGetValue(id, out var value))
                            spec.Secrets.Add(new SecretMount { Id = id, Value = value });
                    }
                }
                break;
            case CopyInstruction copy:
                spec.Sources.AddRange(copy.SourcePaths);
                spec.Destination = DirectoryDestination(copy.DestPath);
                spec.From = step.Sources.FirstOrDefault()?.Reference ?? "";
                spec.Chown = copy.Chown;
                spec.Chmod = copy.Chmod;
                spec.Link = copy.Link;
                spec.Parents = copy.Parents;
                spec.Excludes.AddRange(copy.ExcludePatterns);
                break;
            case AddInstruction add:
                spec.Sources.AddRange(add.SourcePaths);
                spec.Destination = DirectoryDestination(add.DestPath);
                spec.Chown = add.Chown;
                spec.Chmod = add.Chmod;
                spec.Link = add.Link;
                spec.Excludes.AddRange(add.ExcludePatterns);
                spec.Checksum = add.Checksum;
                spec.Unpack = add.Unpack ?? true;
                break;
            default:
                throw new InvalidOperationException($"step {step.Id} ({step.SourceText}) has no executable instruction");
        }
        return spec;
    }

    // "." and "dir/." name a directory as surely as a trailing slash does; the worker's copier only knows the slash.
    private static string DirectoryDestination(string destination) =>
        destination == "." || destination.EndsWith("/.", StringComparison.Ordinal) ? destination + "/" : destination;

    private static RunMountSpec ToMount(RunMount mount, PlannedStep step)
    {
        var spec = new RunMountSpec
        {
            Type = mount.Type switch
            {
                MountType.Cache => "cache",
                MountType.Tmpfs => "tmpfs",
                MountType.Secret => "secret",
                MountType.Ssh => "ssh",
                _ => "bind",
            },
            Target = mount.Target,
            Id = mount.CacheId,
            Source = mount.Source,
            HasReadOnly = true,
            ReadOnly = mount.ReadOnly,
            Sharing = mount.CacheSharing?.ToString().ToLowerInvariant() ?? "",
            Required = mount.Required,
            Env = mount.Env ?? "",
            Size = mount.SizeLimit,
        };
        if (mount.From.Length > 0)
        {
            // The engine names stage inputs by the planner's reference; find the one this mount means.
            var source = step.Sources.FirstOrDefault(s => s.Reference.Equals(mount.From, StringComparison.OrdinalIgnoreCase))
                         ?? step.Sources.FirstOrDefault(s => s.StageIndex?.ToString() == mount.From);
            spec.From = source?.Reference ?? mount.From;
        }
        if (mount.Mode is { } mode) { spec.HasMode = true; spec.Mode = mode; }
        if (mount.Uid is { } uid) { spec.HasUid = true; spec.Uid = (int)uid; }
        if (mount.Gid is { } gid) { spec.HasGid = true; spec.Gid = (int)gid; }
        return spec;
    }
}
