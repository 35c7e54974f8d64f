namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>One host of the farm: a <c>buildfarm coordinator</c> or <c>buildfarm worker</c> OS process with its own home.</summary>
public sealed class FarmNode(FarmRole role, string name, string home, CapturedProcess process)
{
    public FarmRole Role { get; } = role;
    public string Name { get; } = name;
    public string Home { get; } = home;
    public CapturedProcess Process { get; } = process;
    public int Pid => Process.Pid;

    /// <summary>Set once the host printed its ready line.</summary>
    public ReadyLine? Ready { get; private set; }

    /// <summary>The coordinator's gRPC API (IP:PORT), for <c>--server</c>.</summary>
    public string Api => Ready?.Api ?? throw new InvalidOperationException($"{Name} is not a ready coordinator");

    public string Remoting => Ready?.Remoting ?? throw new InvalidOperationException($"{Name} is not ready");

    /// <summary>False once the test killed or stopped it (or it exited by itself).</summary>
    public bool IsAlive => !Process.HasExited;

    public async Task<ReadyLine> WaitForReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var prefix = ReadyLine.Prefix(Role);
        var line = await Process.WaitForLineAsync(l => l.StartsWith(prefix, StringComparison.Ordinal), timeout, cancellationToken);
        Ready = ReadyLine.Parse(Role, line);
        return Ready;
    }

    public override string ToString() => $"{Name} (pid {Pid}, home {Home})";
}
