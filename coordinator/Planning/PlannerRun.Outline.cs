using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// The outline (<c>--call=outline</c>) as BuildKit's dockerfile2llb captures it while it dispatches: global ARGs with
/// the args their defaults read, the args each stage's FROM reads, every ARG a stage declares (a declaration without a
/// value of a global or platform arg keeps the global's entry), secret and ssh mounts; then the target's, its base
/// stage's and its --from stages' captures, the first stage to name an arg or id winning, sorted by line.
/// </summary>
internal sealed partial class PlannerRun
{
    private readonly Dictionary<string, OutlineArgInfo> _globalOutlineArgs = new(StringComparer.Ordinal);

    private void CaptureGlobalArg(ArgInstruction arg, ArgDefinition definition, string? value)
    {
        IReadOnlySet<string> deps = new HashSet<string>();
        if (!options.BuildArgs.ContainsKey(definition.Key) && definition.Value is not null)
            deps = Expand(() => _lexer.ProcessWordWithMatches(definition.Value, GlobalEnvironment()), arg.Location).Matched;
        _globalOutlineArgs[definition.Key] = new OutlineArgInfo(definition.Key, value ?? "", definition.DocComment, arg.Location, deps);
    }

    /// <summary>The args a FROM line's base name and platform read (BuildKit marks them used by the stage).</summary>
    private void CaptureFromArgs(StageState state, FromInstruction from, IShellEnvironment env)
    {
        state.Outline.Used.UnionWith(Expand(() => _lexer.ProcessWordWithMatches(from.BaseName, env), from.Location).Matched);
        if (from.Platform.Length > 0)
            state.Outline.Used.UnionWith(Expand(() => _lexer.ProcessWordWithMatches(from.Platform, env), from.Location).Matched);
    }

    /// <param name="value">The build-arg or the expanded default; null when the ARG has neither.</param>
    private void CaptureStageArg(StageState state, ArgInstruction arg, ArgDefinition definition, string? value)
    {
        // BuildKit's dispatchArg: a bare ARG of a global (or platform) arg is the global one, whose entry stays.
        var inherited = value is null && _globalArgs.Exists(a => a.Key == definition.Key);
        if (!inherited)
            state.Outline.Args[definition.Key] = new OutlineArgInfo(definition.Key, value ?? "", definition.DocComment, arg.Location, new HashSet<string>());
        state.Outline.Used.Add(definition.Key);
    }

    private static void CaptureMounts(StageState state, IReadOnlyList<RunMount> mounts, SourceLocation location)
    {
        foreach (var mount in mounts)
        {
            if (mount.Type == MountType.Secret)
                StageOutline.AddFirst(state.Outline.Secrets, new OutlineRequirement(mount.CacheId, mount.Required, location));
            else if (mount.Type == MountType.Ssh)
                StageOutline.AddFirst(state.Outline.Ssh, new OutlineRequirement(mount.CacheId.Length > 0 ? mount.CacheId : "default", mount.Required, location));
        }
    }

    private PlanOutline OutlineOf(int target)
    {
        var args = new List<OutlineArg>();
        var secrets = new List<OutlineRequirement>();
        var ssh = new List<OutlineRequirement>();
        var seenArgs = new HashSet<string>(StringComparer.Ordinal);
        var seenStages = new HashSet<int>();
        Collect(target);
        var stage = dockerfile.Stages[target];
        // OrderBy is stable: entries of one line keep the order they were met in
        return new PlanOutline(stage.Name, stage.DocComment,
            [.. args.OrderBy(a => a.Location.StartLine)],
            [.. secrets.OrderBy(s => s.Location.StartLine)],
            [.. ssh.OrderBy(s => s.Location.StartLine)]);

        void Collect(int index)
        {
            if (!seenStages.Add(index)) return;
            var state = _stages[index];
            var used = new HashSet<string>(state.Outline.Used, StringComparer.Ordinal);
            // an arg read by a used global's default is used too (BuildKit's markAllUsed)
            var pending = new Stack<string>(used);
            while (pending.Count > 0)
                if (Known(state, pending.Pop()) is { } info)
                    foreach (var dep in info.Deps.Where(used.Add)) pending.Push(dep);
            foreach (var name in used.Order(StringComparer.Ordinal))
                if (Known(state, name) is { } info && seenArgs.Add(name))
                    args.Add(new OutlineArg(info.Key, info.Value, info.Comment, info.Location));
            foreach (var secret in state.Outline.Secrets.Where(s => !secrets.Exists(o => o.Name == s.Name))) secrets.Add(secret);
            foreach (var agent in state.Outline.Ssh.Where(s => !ssh.Exists(o => o.Name == s.Name))) ssh.Add(agent);
            // the base stage first, then the --from stages (BuildKit: ds.base, then ds.deps)
            foreach (var dependency in state.Dependencies) Collect(dependency);
        }
    }

    private OutlineArgInfo? Known(StageState state, string name) =>
        state.Outline.Args.TryGetValue(name, out var own) ? own : _globalOutlineArgs.GetValueOrDefault(name);
}
