using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>
/// Puts on a build graph the cache-map digests BuildKit's Dockerfile frontend (dockerfile2llb, v0.13) would give the same
/// steps, for the steps the farm can reproduce exactly: a FROM registry image, RUN (argv, env in BuildKit's order, cwd,
/// user, network, security; no mounts, heredocs, devices, hosts, ulimits, shm, proxy), WORKDIR's mkdir (no USER), COPY of
/// one path from another stage or (given the context folder) from the context, keyed by its content as BuildKit does.
/// Everything else gets none, and so does every step after it (its record could not link): such steps simply miss.
/// A RUN's key is given only when the environment BuildKit would run it with is exactly the one the farm runs it with.
/// </summary>
public static class BuildKitGraphKeys
{
    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Index in <see cref="GraphNode.BuildkitDigests"/> of a context COPY's content key (input 1's link):
    /// index 0 is the op's digest.</summary>
    public const int ContextKeyIndex = 1;

    public static void Annotate(BuildGraph graph, BuildPlan plan, IReadOnlyDictionary<string, ResolvedImage> images) =>
        Annotate(graph, plan, images, null, CancellationToken.None);

    /// <summary>As above; with <paramref name="contextDirectory"/> (the files the build's COPY reads, .dockerignore
    /// applied) a COPY of one context path also gets BuildKit's keys.</summary>
    public static void Annotate(BuildGraph graph, BuildPlan plan, IReadOnlyDictionary<string, ResolvedImage> images,
        string? contextDirectory, CancellationToken cancellationToken)
    {
        var byId = plan.Steps.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var nodes = graph.Nodes.ToDictionary(n => n.Index);
        for (var i = 0; i < plan.Steps.Count; i++)
        {
            if (!nodes.TryGetValue(i, out var node)) continue;
            var step = plan.Steps[i];
            var (digests, selector, sourceSelector) = Keys(step, byId, images, contextDirectory, cancellationToken);
            node.BuildkitDigests.Clear();
            node.BuildkitDigests.AddRange(digests);
            node.BuildkitSelector = selector;
            node.BuildkitSourceSelector = sourceSelector;
        }
    }

    private static (IReadOnlyList<string> Digests, string Selector, string SourceSelector) Keys(PlannedStep step, Dictionary<string, PlannedStep> byId,
        IReadOnlyDictionary<string, ResolvedImage> images, string? contextDirectory, CancellationToken cancellationToken)
    {
        if (BuildKitPlatform.Parse(step.Platform) is not { } platform) return ([], "", "");
        switch (step.Kind)
        {
            case StepKind.From when step.ParentId is null && step.BaseImage is not null && !step.IsScratch:
            {
                var image = ResolvedImageKey.Find(images, step.BaseImage, step.Platform);
                if (image.Layers.Count == 0 || image.Layers.Any(l => l.DiffId.Length == 0)) return ([], "", "");
                return (BuildKitOpKeys.ImageSource(image.ManifestDigest, platform, image.Layers.Select(l => l.DiffId).ToList()), "", "");
            }
            case StepKind.Run when step.Expanded is RunInstruction run && ExecOf(step, run, byId, images) is { } exec:
                return ([BuildKitOpKeys.Exec(exec, platform)], BuildKitOpKeys.RootMountSelector, "");
            case StepKind.Workdir when step.Expanded is WorkdirInstruction workdir && step.Config.User.Length == 0:
                // dispatchWorkdir: llb.Mkdir(wd, 0755, WithParents(true)); fileop's normalizePath cleans it
                return ([BuildKitOpKeys.Mkdir(GoPath.Clean(workdir.Path), 0b111_101_101, makeParents: true)], "", "");
            case StepKind.Copy when step.Expanded is CopyInstruction copy && CopyFromStage(step, copy) is var (digest, sourceSelector) && digest.Length > 0:
                return ([digest], "", sourceSelector);
            case StepKind.Copy when step.Expanded is CopyInstruction copy && contextDirectory is not null
                                    && CopyFromContext(step, copy, contextDirectory, cancellationToken) is var (digest, contextKey) && digest.Length > 0:
                return ([digest, contextKey], "", "");
            default:
                return ([], "", "");
        }
    }

    // COPY --from=<stage> <one path> <dest>, no flags: dispatchCopy's llb.Copy (a COPY from the context is keyed by
    // BuildKit through a content hash of the files, cache/contenthash, which the farm does not reproduce).
    private static (string Digest, string SourceSelector) CopyFromStage(PlannedStep step, CopyInstruction copy)
    {
        if (step.Sources is not [{ Kind: StepSourceKind.Stage }] || copy.SourcePaths.Count != 1 || copy.SourceContents.Count > 0
            || copy.Chown.Length > 0 || copy.Chmod.Length > 0 || copy.Link || copy.Parents || copy.ExcludePatterns.Count > 0)
            return ("", "");
        var source = GoPath.Clean(GoPath.Join("/", copy.SourcePaths[0]));
        return BuildKitOpKeys.CopyFromStage(source, Destination(step, copy));
    }

    // COPY <one plain context path> <dest>, no flags: the file op of a COPY --from, its input 1 linked by the content
    // checksum of the path (cache/contenthash). The context root ("COPY . ") and wildcards are not reproduced.
    private static (string Digest, string ContextKey) CopyFromContext(PlannedStep step, CopyInstruction copy, string contextDirectory,
        CancellationToken cancellationToken)
    {
        if (step.Sources.Count > 0 || copy.From.Length > 0 || copy.SourcePaths.Count != 1 || copy.SourceContents.Count > 0
            || copy.Chown.Length > 0 || copy.Chmod.Length > 0 || copy.Link || copy.Parents || copy.ExcludePatterns.Count > 0
            || copy.SourcePaths[0].IndexOfAny(['*', '?', '[', '\\']) >= 0)
            return ("", "");
        var source = GoPath.Clean(GoPath.Join("/", copy.SourcePaths[0]));
        if (source == "/" || BuildKitContentHash.Checksum(contextDirectory, source, cancellationToken) is not { } checksum) return ("", "");
        return BuildKitOpKeys.CopyFromContext(source, Destination(step, copy), checksum);
    }

    // pathRelativeToWorkingDir (cleaned), a trailing slash (or ".") kept as a directory, then llb's normalizePath
    private static string Destination(PlannedStep step, CopyInstruction copy)
    {
        var written = copy.DestPath;
        var dest = written.StartsWith('/') ? GoPath.Clean(written) : GoPath.Clean(GoPath.Join("/", step.Config.WorkingDir, written));
        if (written is "." or "" || written.EndsWith('/')) dest = dest.EndsWith('/') ? dest : dest + "/";
        return dest;
    }

    private static BuildKitExec? ExecOf(PlannedStep step, RunInstruction run, Dictionary<string, PlannedStep> byId,
        IReadOnlyDictionary<string, ResolvedImage> images)
    {
        if (run.Mounts.Count > 0 || run.Files.Count > 0 || run.Devices.Count > 0 || step.RunArgs is null || step.RunEnvironment is null)
            return null;
        // extra hosts, shm size, ulimits, devices are keyed by BuildKit in ways not modelled here
        if (step.Flags.Keys.Any(k => k is not ("network" or "security"))) return null;
        var network = run.Network switch
        {
            RunNetwork.Host => BuildKitOpKeys.NetModeHost,
            RunNetwork.None or RunNetwork.Default => BuildKitOpKeys.NetModeNone, // a farm RUN has no network unless asked
            _ => -1,
        };
        var security = run.Security switch
        {
            RunSecurity.Sandbox => 0,
            RunSecurity.Insecure => BuildKitOpKeys.SecurityInsecure,
            _ => -1,
        };
        if (network < 0 || security < 0) return null;

        // The chain of steps from the stage's root image to this RUN (through FROM <stage>).
        var chain = new List<PlannedStep>();
        for (var s = step; ; s = byId[s.ParentId!])
        {
            chain.Add(s);
            if (s.ParentId is null) break;
            if (!byId.ContainsKey(s.ParentId)) return null;
        }
        chain.Reverse();
        var root = chain[0];
        if (root.Kind != StepKind.From || root.BaseImage is null || root.IsScratch) return null;
        var image = ResolvedImageKey.Find(images, root.BaseImage, root.Platform);

        // dockerfile2llb's state env (client/llb EnvList: AddOrReplace deletes and appends): each FROM adds the image
        // config's env (PATH appended when missing), ENV and each ARG that has a value add theirs, in instruction order.
        var env = new List<KeyValuePair<string, string>>();
        void AddOrReplace(string key, string value)
        {
            env.RemoveAll(e => e.Key == key);
            env.Add(new(key, value));
        }
        var cwdSet = !string.IsNullOrEmpty(image.Config.Config?.WorkingDir);
        foreach (var s in chain.Take(chain.Count - 1))
        {
            switch (s.Kind, s.Expanded)
            {
                case (StepKind.From, _):
                {
                    var entries = s.Config.Env.ToList();
                    if (!entries.Any(e => ImageEnv.ParseKeyValue(e).Key == "PATH")) entries.Add(DefaultPath);
                    foreach (var entry in entries)
                    {
                        var (k, v) = ImageEnv.ParseKeyValue(entry);
                        AddOrReplace(k, v);
                    }
                    break;
                }
                case (_, EnvInstruction e):
                    foreach (var kv in e.Env) AddOrReplace(kv.Key, kv.Value);
                    break;
                case (_, ArgInstruction a):
                    // the value it ends with is the one this RUN sees (a build arg, its default, the global one)
                    foreach (var def in a.Args)
                        if (step.BuildArgs.TryGetValue(def.Key, out var value))
                            AddOrReplace(def.Key, value);
                    break;
                case (_, WorkdirInstruction):
                    cwdSet = true;
                    break;
            }
        }
        var bkEnv = env.Select(e => e.Key + "=" + e.Value).ToList();
        // Never a key for another environment than the one the farm's RUN gets (order aside, which changes no result).
        if (!bkEnv.Order(StringComparer.Ordinal).SequenceEqual(step.RunEnvironment.Order(StringComparer.Ordinal), StringComparer.Ordinal))
            return null;
        var cwd = cwdSet ? step.Config.WorkingDir : "";
        return new BuildKitExec(step.RunArgs, bkEnv, cwd, step.Config.User, network, security);
    }
}
