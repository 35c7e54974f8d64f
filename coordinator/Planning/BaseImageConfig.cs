namespace BuildFarm.Coordinator.Planning;

/// <summary>What the planner needs from a base image's config: the environment and settings later instructions see, and its ONBUILD triggers.</summary>
public sealed record BaseImageConfig
{
    public static BaseImageConfig Empty { get; } = new();

    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "";
    public string User { get; init; } = "";
    public IReadOnlyList<string> OnBuild { get; init; } = [];
}
