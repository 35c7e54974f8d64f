namespace BuildFarm.Coordinator.Planning;

/// <summary>What `docker buildx build` passes besides the Dockerfile: target, build args, platforms, known base configs.</summary>
public sealed record PlanOptions
{
    /// <summary>The stage to build (case-insensitive); null or "" = the last stage.</summary>
    public string? Target { get; init; }

    public IReadOnlyDictionary<string, string> BuildArgs { get; init; } = new Dictionary<string, string>();

    public PlatformSpec TargetPlatform { get; init; } = PlatformSpec.LinuxAmd64;

    public PlatformSpec BuildPlatform { get; init; } = PlatformSpec.LinuxAmd64;

    /// <summary>
    /// Configs of base images by expanded reference, when already resolved (environment, WORKDIR, USER, ONBUILD).
    /// A missing image plans with an empty config; the engine resolves <see cref="BuildPlan.ExternalImages"/> and
    /// plans again when it needs exact base environments.
    /// </summary>
    public IReadOnlyDictionary<string, BaseImageConfig> BaseImages { get; init; } = new Dictionary<string, BaseImageConfig>();

    /// <summary>The build's run options (network, extra hosts, /dev/shm size, ulimits) for its RUN steps.</summary>
    public RunOptions Run { get; init; } = RunOptions.Default;

    /// <summary>
    /// --build-context NAME=…: a name that FROM and --from resolve to this image reference instead of a stage or an image
    /// of that name (BuildKit: a named context overrides both). Compared case-insensitively.
    /// </summary>
    public IReadOnlyDictionary<string, string> NamedContextImages { get; init; } = new Dictionary<string, string>();

    /// <summary>--build-context NAME=target:STAGE: a name that FROM and --from resolve to another stage of this Dockerfile.</summary>
    public IReadOnlyDictionary<string, string> NamedContextStages { get; init; } = new Dictionary<string, string>();
}
