namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary><c>RUN [--mount=...]... [--network=...] [--security=...] [--device=...]... command</c>.</summary>
public sealed record RunInstruction : Instruction, IExpandableInstruction
{
    public required ShellDependentCommand Command { get; init; }
    public IReadOnlyList<RunMountSpec> Mounts { get; init; } = [];
    /// <summary><c>default</c>, <c>none</c> or <c>host</c>.</summary>
    public string Network { get; init; } = RunNetwork.Default;
    /// <summary><c>sandbox</c> or <c>insecure</c>.</summary>
    public string Security { get; init; } = RunSecurity.Sandbox;
    public IReadOnlyList<RunDevice> Devices { get; init; } = [];
    /// <summary>The flag names given on the instruction (e.g. ["mount"]), sorted.</summary>
    public IReadOnlyList<string> FlagsUsed { get; init; } = [];

    public IReadOnlyList<string> CmdLine => Command.CmdLine;
    public IReadOnlyList<ShellInlineFile> Files => Command.Files;
    public bool PrependShell => Command.PrependShell;

    /// <summary>Mount options are the expandable words of a RUN (the command itself is expanded by the shell).</summary>
    public Instruction Expand(Func<string, string> expand) =>
        this with { Mounts = Mounts.Select(m => RunMountSpec.FromMount(m.Text, m.Expand(expand))).ToArray() };

    /// <summary>The mounts with their option values expanded.</summary>
    public IReadOnlyList<RunMount> ExpandMounts(Func<string, string> expand) => Mounts.Select(m => m.Expand(expand)).ToArray();
}
