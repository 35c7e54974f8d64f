using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>What the checks track through one stage, as BuildKit's dispatchState does (and what a stage built on it inherits).</summary>
internal sealed class LintStageState
{
    public List<KeyValuePair<string, string>> Env { get; } = [];
    public HashSet<string> BuildArgs { get; } = new(StringComparer.Ordinal);
    public bool WorkdirSet { get; set; }
    public bool ShellSet { get; set; }
    public SourceLocation? Cmd { get; set; }
    public SourceLocation? Entrypoint { get; set; }
    public SourceLocation? Healthcheck { get; set; }

    /// <summary>A stage built FROM this one: env, ARGs, WORKDIR and SHELL carry over; the once-only instruction trackers do not.</summary>
    public LintStageState Inherit()
    {
        var next = new LintStageState { WorkdirSet = WorkdirSet, ShellSet = ShellSet };
        next.Env.AddRange(Env);
        next.BuildArgs.UnionWith(BuildArgs);
        return next;
    }

    public void SetEnv(string key, string value)
    {
        var i = Env.FindIndex(e => e.Key == key);
        if (i >= 0) Env[i] = new(key, value);
        else Env.Add(new(key, value));
    }
}
