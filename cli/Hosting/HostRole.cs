namespace BuildFarm.Cli.Hosting;

/// <summary>What a host process runs: <c>buildfarm coordinator</c>, <c>buildfarm worker</c>, or both (<c>serve</c>).</summary>
public enum HostRole
{
    Coordinator,
    Worker,
    Both,
}
