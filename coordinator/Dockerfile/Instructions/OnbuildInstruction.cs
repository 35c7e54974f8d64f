namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>ONBUILD trigger</c>: <see cref="Expression"/> is the trigger's text (with heredoc bodies appended), stored in the image config.</summary>
public sealed record OnbuildInstruction(string Expression) : Instruction;
