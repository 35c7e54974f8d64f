using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// One node of the build DAG: an instruction that yields a layer or a config change (FROM included).
/// <see cref="Id"/> is stable for a given Dockerfile and options ("s&lt;stage&gt;.&lt;n&gt;", n = 0 for FROM).
/// The declared key inputs (<see cref="Instruction"/>, <see cref="Flags"/>, <see cref="BuildArgs"/>, <see cref="Env"/>,
/// <see cref="Mounts"/>, <see cref="Platform"/>) are complete; the parent key, base digest, context checksum and
/// source-stage keys are filled later by <see cref="BuildPlan.ComputeKeysAsync"/>.
/// </summary>
public sealed record PlannedStep
{
    public required string Id { get; init; }
    public required int StageIndex { get; init; }
    public required string StageName { get; init; }
    public required StepKind Kind { get; init; }
    public required SourceLocation Location { get; init; }

    /// <summary>The instruction as written (for people).</summary>
    public required string SourceText { get; init; }

    /// <summary>The image history's created_by when BuildKit writes something else than <see cref="SourceText"/> there
    /// (WORKDIR: the resolved path); null for the usual text.</summary>
    public string? CreatedBy { get; init; }

    /// <summary>The canonical expanded instruction that goes into the key (e.g. RUN with its final argv).</summary>
    public required string Instruction { get; init; }

    /// <summary>The typed instruction after variable expansion (null for FROM); the engine executes from it.</summary>
    public Dockerfile.Instructions.Instruction? Expanded { get; init; }

    public string? ParentId { get; init; }

    /// <summary>Extra dependencies: the last steps of COPY --from / mount from= stages.</summary>
    public IReadOnlyList<string> DependsOn { get; init; } = [];

    public required string Platform { get; init; }
    public IReadOnlyDictionary<string, string> Flags { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Mounts { get; init; } = [];

    /// <summary>FROM of an image: the expanded reference whose manifest digest the key needs.</summary>
    public string? BaseImage { get; init; }

    /// <summary>FROM scratch.</summary>
    public bool IsScratch { get; init; }

    public IReadOnlyList<ContextSelection> ContextSelections { get; init; } = [];
    public IReadOnlyList<StepSource> Sources { get; init; } = [];

    /// <summary>RUN: the argv to execute (shell form already wrapped in the stage's SHELL).</summary>
    public IReadOnlyList<string>? RunArgs { get; init; }

    /// <summary>RUN: the full process environment (image env, visible args, proxy settings), which is more than the key holds.</summary>
    public IReadOnlyList<string>? RunEnvironment { get; init; }

    /// <summary>The image config after this step.</summary>
    public required ImageConfigState Config { get; init; }

    public override string ToString() => $"{Id} {Location.FileName}:{Location.StartLine} {SourceText}";
}
