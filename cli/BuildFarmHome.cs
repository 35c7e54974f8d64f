namespace BuildFarm.Cli;

/// <summary>The local state folder of embedded builds: $BUILDFARM_HOME, else ~/.buildfarm.</summary>
public sealed record BuildFarmHome(string Root)
{
    public static BuildFarmHome Resolve()
    {
        var root = Environment.GetEnvironmentVariable("BUILDFARM_HOME");
        if (string.IsNullOrWhiteSpace(root))
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".buildfarm");
        return new BuildFarmHome(Path.GetFullPath(root));
    }

    /// <summary>The image name index.</summary>
    public string Images => Root;
    /// <summary>The worker's snapshots and runtime state.</summary>
    public string Worker => Path.Combine(Root, "worker");
    /// <summary>Remembered context file hashes (a rebuild re-hashes only changed files).</summary>
    public string ContextHashes => Path.Combine(Root, "context-hashes");
    /// <summary>Per-process scratch space; removed when the process ends.</summary>
    public string Temp => Path.Combine(Root, "tmp");
}
