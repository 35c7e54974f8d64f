namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// A <c>--mount</c> value as written, and its typed form when it needs no variable expansion.
/// Values may contain <c>$VAR</c>s (except <c>from</c>); those are typed by <see cref="Expand"/> once
/// the step's variables are known, as BuildKit does at dispatch.
/// </summary>
public sealed record RunMountSpec(string Text, RunMount? Literal)
{
    /// <summary>Typed mount with each option value passed through <paramref name="expand"/>.</summary>
    public RunMount Expand(Func<string, string> expand) => RunMountParser.Parse(Text, expand);

    internal static RunMountSpec FromMount(string text, RunMount mount) => new(text, mount);
}
