using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Planning;

/// <summary>One planning of one Dockerfile; all state lives here for the duration of <see cref="Run"/>.
/// Split by feature as BuildKit splits dockerfile2llb: this file holds the state, the order of work and the dispatch;
/// PlannerRun.Stages.cs the global ARGs, stages, FROM and the stage graph; PlannerRun.Run.cs RUN and its mounts;
/// PlannerRun.Copy.cs COPY and ADD; PlannerRun.Metadata.cs ARG and the config-only instructions.</summary>
internal sealed partial class PlannerRun(DockerfileStages dockerfile, PlanOptions options, string fileName)
{
    private const string ScratchName = "scratch";

    private readonly ShellLexer _lexer = new(dockerfile.EscapeToken);

    // Heredoc bodies keep their quotes: BuildKit expands them with quote processing off.
    private readonly ShellLexer _rawLexer = new('\\') { SkipProcessQuotes = true };

    private readonly List<KeyValuePair<string, string?>> _globalArgs = [];
    private readonly List<StageState> _stages = [];
    private readonly Dictionary<Instruction, StageReference> _fromReferences = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<RunMountKey, StageReference> _mountReferences = [];
    private readonly List<PlannedStep> _steps = [];

    private readonly record struct RunMountKey(Instruction Run, int Mount);

    public BuildPlan Run()
    {
        if (dockerfile.Stages.Count == 0)
            throw new DockerfileException("dockerfile contains no stages to build", fileName);
        BuildGlobalArgs();
        CreateStages();
        var target = FindTarget();
        CollectDependencies();
        CheckCycles();
        var reachable = Reachable(target);

        foreach (var index in PlanningOrder(reachable))
            PlanStage(_stages[index]);

        var planned = _stages.Select(s => new PlannedStage
        {
            Index = s.Index,
            Name = s.Name,
            DisplayName = s.DisplayName,
            BaseKind = s.BaseKind,
            BaseName = s.BaseName,
            BaseStageIndex = s.BaseStageIndex,
            Platform = s.Platform.ToString(),
            Location = dockerfile.Stages[s.Index].Location,
            Pruned = !reachable.Contains(s.Index),
            StepIds = s.StepIds.ToArray(),
            DependsOnStages = s.Dependencies.ToArray(),
            FinalConfig = s.Planned ? s.Config : null,
        }).ToArray();
        return new BuildPlan(planned, _steps, target) { Outline = OutlineOf(target) };
    }

    private void Dispatch(StageState state, Instruction instruction)
    {
        var location = instruction.Location;
        var env = ExpansionEnvironment(state);
        string Word(string w) => ExpandWith(w, env, location);
        string Raw(string w) => Expand(() => _rawLexer.ProcessWord(w, env), location);

        switch (instruction)
        {
            case RunInstruction run:
                PlanRun(state, run, env, Word);
                return;

            case CopyInstruction copy:
                PlanCopy(state, copy, Word, Raw);
                return;

            case AddInstruction add:
                PlanAdd(state, add, Word, Raw);
                return;

            case FromInstruction:
                throw Error("FROM cannot be used here; expected it only at the start of a stage", location);

            default:
                if (TryPlanMetadata(state, instruction, env, Word))
                    return;
                throw Error($"instruction {instruction.Keyword} is not supported by the planner", location);
        }
    }

    private void AddStep(StageState state, PlannedStep step)
    {
        state.StepIds.Add(step.Id);
        _steps.Add(step);
    }

    private static string StepId(StageState state, int position) => $"s{state.Index}.{position}";

    /// <summary>The next step of a stage: what every instruction's step takes from the stage and its own source.</summary>
    private static PlannedStep NextStep(StageState state, StepKind kind, Instruction original, Instruction expanded, string text,
        ImageConfigState config) => new()
    {
        Id = StepId(state, state.StepIds.Count),
        StageIndex = state.Index,
        StageName = state.DisplayName,
        Kind = kind,
        Location = original.Location,
        SourceText = original.SourceCode,
        Instruction = text,
        Expanded = expanded,
        ParentId = state.StepIds[^1],
        Platform = state.Platform.ToString(),
        Config = config,
    };


    // ---- helpers ------------------------------------------------------------------------------------------------

    /// <summary>Image env wins over the stage's ARGs unless the ARG was declared after it; undeclared build args are not visible.</summary>
    private static IShellEnvironment ExpansionEnvironment(StageState state) =>
        new StageShellEnvironment(ImageEnvList.From(state.Config.Env), state.Args.ToArray(),
            state.ArgsOverEnv.Count == 0 ? null : new HashSet<string>(state.ArgsOverEnv, StringComparer.Ordinal));

    private static IReadOnlyList<string> CommandArgs(ShellDependentCommand command, ImageConfigState config) =>
        command.PrependShell ? config.Shell.Append(string.Join(" ", command.CmdLine)).ToArray() : command.CmdLine.ToArray();


    // Instruction texts go into keys: encode with our canonical writer, never a serializer whose escaping may change.
    private static string Json(IEnumerable<string> values) => CanonicalJson.Serialize(new JsonArray(values.Select(v => (JsonNode?)v).ToArray()));

    private static string JsonObjects(IEnumerable<JsonObject> objects) => CanonicalJson.Serialize(new JsonArray(objects.Cast<JsonNode?>().ToArray()));

    private string ExpandWith(string word, IShellEnvironment env, SourceLocation location) =>
        Expand(() => _lexer.ProcessWord(word, env), location);

    private T Expand<T>(Func<T> action, SourceLocation location)
    {
        try
        {
            return action();
        }
        catch (DockerfileException e) when (e.Line == 0)
        {
            throw e.At(location.FileName.Length > 0 ? location.FileName : fileName, location.StartLine, location.Column, location.EndLine);
        }
    }

    private DockerfileException Error(string reason, SourceLocation location) =>
        new(reason, location.FileName.Length > 0 ? location.FileName : fileName, location.StartLine, location.Column, location.EndLine);
}
