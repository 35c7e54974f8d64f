namespace BuildFarm.Worker.Steps;

/// <summary>RUN. Shell form (<see cref="ExecForm"/> false): <see cref="Command"/> holds one command line run
/// with <see cref="Shell"/>. Exec form: <see cref="Command"/> is the argv.</summary>
public sealed record RunOperation : StepOperation
{
    public required IReadOnlyList<string> Command { get; init; }
    public bool ExecForm { get; init; }
    /// <summary>The stage's SHELL.</summary>
    public IReadOnlyList<string> Shell { get; init; } = ["/bin/sh", "-c"];
    /// <summary>Heredocs of the command line, in order (<c>RUN &lt;&lt;EOF</c>).</summary>
    public IReadOnlyList<Heredoc> Heredocs { get; init; } = [];
    public IReadOnlyList<RunMount> Mounts { get; init; } = [];
    public NetworkMode Network { get; init; } = NetworkMode.None;
    /// <summary>RUN --security=insecure: privileged (the coordinator lets it through only with the security.insecure entitlement).</summary>
    public bool Insecure { get; init; }

    /// <summary>The build's --add-host entries, appended to the step's /etc/hosts.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraHosts { get; init; } = [];

    /// <summary>The build's --shm-size in bytes (0 = default).</summary>
    public long ShmSize { get; init; }

    /// <summary>The build's --ulimit values.</summary>
    public IReadOnlyList<Execution.ContainerRlimit> Rlimits { get; init; } = [];
}
