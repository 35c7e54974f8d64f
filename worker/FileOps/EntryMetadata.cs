namespace BuildFarm.Worker.FileOps;

/// <summary>The metadata a layer keeps for an entry: owner, permission bits, mtime.</summary>
internal readonly record struct EntryMetadata(int Uid, int Gid, uint Mode, long MtimeSeconds, uint MtimeNanoseconds)
{
    public static EntryMetadata From(Native.FileStat stat) =>
        new(stat.Uid, stat.Gid, stat.Permissions, stat.MtimeSeconds, stat.MtimeNanoseconds);
}
