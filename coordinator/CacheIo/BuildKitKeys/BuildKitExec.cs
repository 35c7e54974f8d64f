namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>The fields of a RUN's pb.ExecOp that its cache map keeps (the farm models no mounts, hosts, ulimits).</summary>
public sealed record BuildKitExec(IReadOnlyList<string> Args, IReadOnlyList<string> Env, string Cwd, string User, int Network, int Security);
