namespace BuildFarm.Cli;

/// <summary>The local state folder of embedded builds: $BUILDFARM_HOME, else ~/.buildfarm (see <see cref="CliEnvironment"/>).</summary>
public sealed record BuildFarmHome(string Root)
{
    /// <summary>The local cache store's folder (unless BUILDFARM_CACHE names another store).</summary>
    public string Cache => Path.Combine(Root, "cache");
    /// <summary>The image name index.</summary>
    public string Images => Root;
    /// <summary>The worker's snapshots and runtime state.</summary>
    public string Worker => Path.Combine(Root, "worker");
    /// <summary>The worker's local blob cache in front of a remote store.</summary>
    public string WorkerBlobs => Path.Combine(Worker, "blobs");
    /// <summary>Build contexts the worker materialized from the store.</summary>
    public string WorkerContexts => Path.Combine(Worker, "ctx");
    /// <summary>Remembered context file hashes (a rebuild re-hashes only changed files).</summary>
    public string ContextHashes => Path.Combine(Root, "context-hashes");
    /// <summary>Containers kept by <c>run --name</c>: a record and the writable layer (overlay upper dir) of each.</summary>
    public string Containers => Path.Combine(Root, "containers");
    /// <summary>This home's remoting certificate and key (made once, mode 0600).</summary>
    public string RemotingCertificate => Path.Combine(Root, "remoting.p12");
    /// <summary>Where <c>--debug</c> keeps engine log events in full, stack traces included.</summary>
    public string DebugLog => Path.Combine(Root, "logs", "engine.log");
    /// <summary>Per-process scratch space; removed when the process ends.</summary>
    public string Temp => Path.Combine(Root, "tmp");
    /// <summary>The resident engine's gRPC unix socket (see cli/Engine/README.md).</summary>
    public string EngineSocket => Path.Combine(Root, "engine.sock");
    /// <summary>The resident engine's record (pid, version, socket, started), present while it serves.</summary>
    public string EngineRecord => Path.Combine(Root, "engine.json");
    /// <summary>The resident engine's stdout and stderr.</summary>
    public string EngineLog => Path.Combine(Root, "engine.log");
    /// <summary>flock'ed by a client while it checks, stops or starts the engine: one engine per home.</summary>
    public string EngineLock => Path.Combine(Root, "engine.lock");
}
