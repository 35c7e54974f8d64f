using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using ProtoHeredoc = BuildFarm.Protos.Cluster.Heredoc;
using ProtoMount = BuildFarm.Protos.Cluster.RunMount;
using ProtoMountType = BuildFarm.Protos.Cluster.MountType;
using RunMount = BuildFarm.Coordinator.Dockerfile.Instructions.RunMount;
using MountType = BuildFarm.Coordinator.Dockerfile.Instructions.MountType;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// Turns the planner's DAG (with filled keys) into the engine's graph: one node per planned step, FROM images as
/// base nodes with their layers, config-only steps as metadata nodes, and a typed definition (exactly what the key
/// covers) for every step a worker runs. No build's inputs go in here beyond secret references: the context and the
/// secret values stay with the build (<see cref="StartBuild"/> and its secret provider).
/// </summary>
public static class PlanGraphBuilder
{
    public static BuildGraph Build(BuildPlan plan, PlanKeys keys, IReadOnlyDictionary<string, ResolvedImage> images,
        BuildSpec spec, IReadOnlyList<string> noCacheFilter)
    {
        var graph = new BuildGraph { NoCache = spec.NoCache };
        graph.NoCacheFilter.AddRange(noCacheFilter.Select(s => s.ToLowerInvariant()));
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < plan.Steps.Count; i++) indexOf[plan.Steps[i].Id] = i;
        var imageNodes = new Dictionary<string, int>(StringComparer.Ordinal);

        int ImageNode(string reference, string platform)
        {
            var key = ResolvedImageKey.Of(reference, platform);
            if (imageNodes.TryGetValue(key, out var existing)) return existing;
            var node = new GraphNode { Index = plan.Steps.Count + imageNodes.Count, IsBase = true, Parent = -1 };
            node.BaseLayers.AddRange(ResolvedImageKey.Find(images, reference, platform).Layers);
            graph.Nodes.Add(node);
            return imageNodes[key] = node.Index;
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
                    if (step.BaseImage is not null) node.BaseLayers.AddRange(ResolvedImageKey.Find(images, step.BaseImage, step.Platform).Layers);
                    break;
                case StepKind.From or StepKind.Config:
                    node.MetadataOnly = true;
                    break;
                default:
                    node.Definition = DefinitionFor(step, keys, spec);
                    node.DisplayName = DisplayName(plan, step);
                    node.Location = $"{step.Location.FileName}:{step.Location.StartLine}";
                    node.StepIdentity = $"{step.Location.FileName}#stage={step.StageName}#{step.Id}";
                    node.Secrets.AddRange(SecretRefsOf(node.Definition));
                    foreach (var source in step.Sources)
                    {
                        var input = source.Kind == StepSourceKind.Stage ? indexOf[source.StepId!] : ImageNode(source.Reference, step.Platform);
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

    private static StepDefinition DefinitionFor(PlannedStep step, PlanKeys keys, BuildSpec build)
    {
        var definition = new StepDefinition
        {
            CacheKey = keys.KeyOf(step.Id),
            User = step.Config.User,
            WorkingDir = step.Config.WorkingDir,
            SourceDateEpoch = build.SourceDateEpoch,
            KeyInputsJson = keys.Inputs[step.Id].ToCanonicalJson(),
            ParentKey = step.ParentId is null ? "" : keys.KeyOf(step.ParentId),
            Platform = step.Platform,
        };
        switch (step.Expanded)
        {
            case RunInstruction run:
                var op = new RunOp
                {
                    Network = run.Network == RunNetwork.Host ? NetworkMode.NetworkHost : NetworkMode.NetworkNone,
                    Insecure = run.Security == RunSecurity.Insecure, // the build runner refused it already unless entitled
                    ShmSize = build.ShmSize,
                };
                // the build's run options, as its key has them (the planner put names, size and ulimits into the flags)
                op.ExtraHosts.AddRange(build.ExtraHosts);
                op.Ulimits.AddRange(build.Ulimits);
                op.Shell.AddRange(step.Config.Shell);
                op.Env.AddRange(step.RunEnvironment ?? step.Config.Env);
                if (run.Command.Files.Count > 0)
                {
                    // Heredocs: the worker needs the command line and the bodies, not the wrapped argv.
                    op.Args.AddRange(run.Command.CmdLine);
                    op.ExecForm = !run.Command.PrependShell;
                    op.Heredocs.AddRange(run.Command.Files.Select(f => new ProtoHeredoc { Name = f.Name, Content = f.Data }));
                }
                else
                {
                    op.Args.AddRange(step.RunArgs ?? run.Command.CmdLine);
                    op.ExecForm = true;
                }
                op.Mounts.AddRange(run.Mounts.Select(m => m.Literal).OfType<RunMount>().Select(m => ToMount(m, step)));
                definition.Run = op;
                break;
            case CopyInstruction copy:
                definition.Copy = new CopyOp
                {
                    Sources = { copy.SourcePaths },
                    Destination = DirectoryDestination(copy.DestPath),
                    From = step.Sources.FirstOrDefault()?.Reference ?? "",
                    Chown = copy.Chown,
                    Chmod = copy.Chmod,
                    Link = copy.Link,
                    Parents = copy.Parents,
                    Excludes = { copy.ExcludePatterns },
                    Heredocs = { HeredocsOf(copy.SourceContents) },
                };
                break;
            case AddInstruction add:
                definition.Add = new AddOp
                {
                    Copy = new CopyOp
                    {
                        Sources = { add.SourcePaths },
                        Destination = DirectoryDestination(add.DestPath),
                        Chown = add.Chown,
                        Chmod = add.Chmod,
                        Link = add.Link,
                        Excludes = { add.ExcludePatterns },
                        Heredocs = { HeredocsOf(add.SourceContents) },
                    },
                    Checksum = add.Checksum,
                    Unpack = add.Unpack ?? true,
                    KeepGitDir = add.KeepGitDir ?? false,
                };
                foreach (var (source, commit) in keys.GitCommitsOf(step.Id))
                {
                    var git = GitSource.Parse(source);
                    definition.Add.Git.Add(new GitCheckout { Source = source, Remote = git.Remote, Ref = git.Ref, Subdir = git.Subdir, Commit = commit });
                }
                break;
            case WorkdirInstruction workdir:
                definition.Workdir = new WorkdirOp { Path = workdir.Path };
                break;
            default:
                throw new InvalidOperationException($"step {step.Id} ({step.SourceText}) has no executable instruction");
        }
        return definition;
    }

    /// <summary>The secrets a step's mounts name, as references for the build to offer (never values).</summary>
    private static IEnumerable<SecretRef> SecretRefsOf(StepDefinition definition) =>
        definition.Run?.Mounts.Where(m => m.Type == ProtoMountType.Secret).Select(m =>
        {
            var reference = new SecretRef { Id = m.Id, Target = m.Target, Required = m.Required, Env = m.Env };
            if (m.HasMode) reference.Mode = m.Mode;
            if (m.HasUid) reference.Uid = (uint)m.Uid;
            if (m.HasGid) reference.Gid = (uint)m.Gid;
            return reference;
        }) ?? [];

    // COPY/ADD heredoc bodies as the planner expanded them (the key covers them through the step's instruction text).
    private static IEnumerable<ProtoHeredoc> HeredocsOf(IReadOnlyList<SourceContent> contents) =>
        contents.Select(c => new ProtoHeredoc { Name = c.Path, Content = c.Data });

    // "." and "dir/." name a directory as surely as a trailing slash does; the worker's copier only knows the slash.
    private static string DirectoryDestination(string destination) =>
        destination == "." || destination.EndsWith("/.", StringComparison.Ordinal) ? destination + "/" : destination;

    private static ProtoMount ToMount(RunMount mount, PlannedStep step)
    {
        var result = new ProtoMount
        {
            Type = mount.Type switch
            {
                MountType.Cache => ProtoMountType.Cache,
                MountType.Tmpfs => ProtoMountType.Tmpfs,
                MountType.Secret => ProtoMountType.Secret,
                MountType.Ssh => ProtoMountType.Ssh,
                _ => ProtoMountType.Bind,
            },
            Target = mount.Target,
            Id = mount.CacheId, // for a secret: resolved once by the planner (SecretMountResolver)
            Source = mount.Type == MountType.Secret ? "" : mount.Source,
            ReadOnly = mount.ReadOnly,
            Sharing = mount.CacheSharing switch
            {
                MountSharing.Private => CacheSharing.SharingPrivate,
                MountSharing.Locked => CacheSharing.SharingLocked,
                _ => CacheSharing.SharingShared,
            },
            Required = mount.Required,
            Env = mount.Env ?? "",
            Size = mount.SizeLimit,
        };
        if (mount.From.Length > 0)
        {
            // The engine names stage inputs by the planner's reference; find the one this mount means.
            var source = step.Sources.FirstOrDefault(s => s.Reference.Equals(mount.From, StringComparison.OrdinalIgnoreCase))
                         ?? step.Sources.FirstOrDefault(s => s.StageIndex?.ToString() == mount.From);
            result.From = source?.Reference ?? mount.From;
        }
        if (mount.Mode is { } mode) result.Mode = mode;
        if (mount.Uid is { } uid) result.Uid = (int)uid;
        if (mount.Gid is { } gid) result.Gid = (int)gid;
        return result;
    }
}
