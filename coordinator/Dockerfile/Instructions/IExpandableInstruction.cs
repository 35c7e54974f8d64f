namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// An instruction whose words undergo variable expansion before use (BuildKit's
/// <c>SupportsSingleWordExpansion</c>). <c>Expand</c> returns a copy with the words replaced.
/// </summary>
public interface IExpandableInstruction
{
    /// <param name="expand">expands one word (e.g. <see cref="Shell.ShellLexer.ProcessWord"/> with the step's environment).</param>
    Instruction Expand(Func<string, string> expand);
}
