namespace BuildFarm.Worker.Execution;

/// <summary>A user as the kernel sees it, resolved from the image's /etc/passwd and /etc/group.</summary>
public sealed record ResolvedUser(int Uid, int Gid, IReadOnlyList<int> AdditionalGids, string? Home)
{
    public static ResolvedUser Root { get; } = new(0, 0, [], "/root");
}
