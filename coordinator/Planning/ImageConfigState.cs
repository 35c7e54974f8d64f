using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>The image config as it stands after a step: what RUN executes with and what the export writes.</summary>
public sealed record ImageConfigState
{
    public static IReadOnlyList<string> DefaultShell { get; } = ["/bin/sh", "-c"];
    public static IReadOnlyList<string> DefaultEnv { get; } = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

    public IReadOnlyList<string> Env { get; init; } = [];
    public string WorkingDir { get; init; } = "";
    public string User { get; init; } = "";
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string> Shell { get; init; } = DefaultShell;
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];
    public IReadOnlyList<string> Volumes { get; init; } = [];
    public string StopSignal { get; init; } = "";
    public HealthConfig? Healthcheck { get; init; }
    public IReadOnlyList<string> OnBuild { get; init; } = [];
    public string Author { get; init; } = "";

    /// <summary>The state of a stage built on an image (or scratch), with the default PATH and WorkingDir "/" where the base
    /// has none, as BuildKit sets them (its config always names a working directory).</summary>
    public static ImageConfigState FromBase(BaseImageConfig? config) => new()
    {
        Env = ImageEnvList.From(config is null || config.Env.Count == 0 ? DefaultEnv : config.Env),
        WorkingDir = string.IsNullOrEmpty(config?.WorkingDir) ? "/" : config.WorkingDir,
        User = config?.User ?? "",
        OnBuild = config?.OnBuild ?? [],
    };
}
