namespace BuildFarm.Cli;

/// <summary>Where <c>buildfarm build</c> without <c>--server</c> runs (BUILDFARM_ENGINE).</summary>
public enum EngineMode
{
    /// <summary>This home's resident engine, started on demand (cli/Engine).</summary>
    Resident,

    /// <summary>In the client's own process, a one-node engine that ends with the build.</summary>
    Embedded,
}
