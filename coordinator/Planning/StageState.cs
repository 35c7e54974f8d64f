namespace BuildFarm.Coordinator.Planning;

/// <summary>The mutable state of one stage while it is planned (one planner run owns it).</summary>
internal sealed class StageState
{
    public required int Index { get; init; }
    public required string Name { get; init; }
    public required string DisplayName { get; init; }
    public required StageBaseKind BaseKind { get; init; }
    public required string BaseName { get; init; }
    public int? BaseStageIndex { get; init; }
    public required PlatformSpec Platform { get; init; }

    /// <summary>Stage indexes this stage depends on, in the order first met (base first).</summary>
    public List<int> Dependencies { get; } = [];

    /// <summary>The instruction (by position) that introduced each stage dependency, for cycle errors.</summary>
    public Dictionary<int, Dockerfile.Instructions.Instruction> DependencyInstructions { get; } = [];

    public ImageConfigState Config { get; set; } = new();

    /// <summary>ARGs declared in the stage so far; null value = declared without a value.</summary>
    public List<KeyValuePair<string, string?>> Args { get; } = [];

    /// <summary>ARGs declared after an ENV of the same name: they win over it for expansion and in RUN (BuildKit: the
    /// later declaration wins), while the image config keeps the ENV. An ENV of the name afterwards wins again.</summary>
    public HashSet<string> ArgsOverEnv { get; } = new(StringComparer.Ordinal);

    /// <summary>What --call=outline reports of this stage (see PlannerRun.Outline.cs).</summary>
    public StageOutline Outline { get; } = new();

    public bool CmdSet { get; set; }
    public List<string> StepIds { get; } = [];
    public bool Planned { get; set; }

    public void SetArg(string key, string? value)
    {
        var i = Args.FindIndex(a => a.Key == key);
        if (i >= 0)
        {
            // BuildKit's dispatchArg sets no value for an ARG declared without one: a value already in scope (an
            // earlier ARG of the stage, or one inherited from the base stage) stays.
            if (value is null)
                return;
            Args.RemoveAt(i);
        }
        Args.Add(new(key, value));
        if (value is not null) ArgsOverEnv.Add(key);
    }

    /// <summary>
    /// A stage built FROM another stage starts from that stage's state, ARG values included, as BuildKit does (its child
    /// dispatch state takes the base's LLB state, whose env holds every ARG that had a value, then applies the image
    /// config env on top). So the inherited values are visible to RUN and expansion, but an ENV of the same name wins
    /// again, even where an ARG had shadowed it in the base stage. ARGs without a value were never in that env.
    /// </summary>
    public void InheritArgs(StageState baseStage)
    {
        foreach (var (key, value) in baseStage.Args)
        {
            if (value is not null)
                Args.Add(new(key, value));
        }
    }
}
