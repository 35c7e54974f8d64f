namespace BuildFarm.Coordinator.Builds;

/// <summary>Values of <c>--call</c> (BuildSpec.call) that this farm answers, as buildx's: build, check (BuildKit's
/// Dockerfile checks), outline (the target's args, secrets and ssh) and targets (the stages).</summary>
public static class BuildCalls
{
    public const string Build = "build";
    public const string Check = "check";
    public const string Outline = "outline";
    public const string Targets = "targets";

    public static IReadOnlyList<string> Known { get; } = [Build, Check, Outline, Targets];

    public static bool IsCheck(string call) => call == Check;

    public static bool IsOutline(string call) => call == Outline;

    public static bool IsTargets(string call) => call == Targets;

    /// <summary>Null when the value is one this farm answers ("" means build); else why not.</summary>
    public static string? Problem(string call) =>
        call.Length == 0 || Known.Contains(call) ? null : $"--call {call}: unsupported (supported: {string.Join(", ", Known)})";
}
