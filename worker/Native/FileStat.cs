namespace BuildFarm.Worker.Native;

/// <summary>What lstat says about one path.</summary>
public readonly record struct FileStat(
    uint Mode, int Uid, int Gid, long Size, uint RdevMajor, uint RdevMinor,
    long MtimeSeconds, uint MtimeNanoseconds, uint Links, ulong Inode, uint DevMajor, uint DevMinor)
{
    private const uint TypeMask = 0xF000;
    public bool IsDirectory => (Mode & TypeMask) == 0x4000;
    public bool IsRegularFile => (Mode & TypeMask) == 0x8000;
    public bool IsSymlink => (Mode & TypeMask) == 0xA000;
    public bool IsCharDevice => (Mode & TypeMask) == 0x2000;
    public bool IsBlockDevice => (Mode & TypeMask) == 0x6000;
    public bool IsFifo => (Mode & TypeMask) == 0x1000;
    /// <summary>Permission bits including setuid/setgid/sticky.</summary>
    public uint Permissions => Mode & 0xFFF;
    /// <summary>overlayfs marks a deleted lower entry with a 0/0 character device.</summary>
    public bool IsOverlayWhiteout => IsCharDevice && RdevMajor == 0 && RdevMinor == 0;
}
