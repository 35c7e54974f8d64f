namespace BuildFarm.Oci.Native;

/// <summary>The parts of <c>lstat(2)</c> a layer needs and .NET does not expose (inode, owner, device numbers).</summary>
public readonly record struct FileStatus(
    ulong Device,
    ulong Inode,
    ulong LinkCount,
    uint Mode,
    uint Uid,
    uint Gid,
    ulong RawDeviceNumber,
    long Size,
    long ModificationSeconds,
    long ModificationNanoseconds,
    long ChangeSeconds = 0,
    long ChangeNanoseconds = 0)
{
    public const uint TypeMask = 0xF000; // S_IFMT
    public const uint Socket = 0xC000;
    public const uint Symlink = 0xA000;
    public const uint Regular = 0x8000;
    public const uint BlockDevice = 0x6000;
    public const uint Directory = 0x4000;
    public const uint CharDevice = 0x2000;
    public const uint Fifo = 0x1000;

    public uint Type => Mode & TypeMask;
    public uint Permissions => Mode & 0xFFF;
    public long DeviceMajor => (long)(((RawDeviceNumber >> 8) & 0xfff) | ((RawDeviceNumber >> 32) & ~0xfffUL));
    public long DeviceMinor => (long)((RawDeviceNumber & 0xff) | ((RawDeviceNumber >> 12) & ~0xffUL));

    public static ulong MakeDevice(long major, long minor)
    {
        var ma = (ulong)major;
        var mi = (ulong)minor;
        return ((ma & 0xfff) << 8) | ((ma & ~0xfffUL) << 32) | (mi & 0xff) | ((mi & ~0xffUL) << 12);
    }
}
