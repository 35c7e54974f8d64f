using System.Runtime.InteropServices;

namespace BuildFarm.Worker.Native;

/// <summary>The few Linux calls .NET does not expose: mounts, ownership, device numbers, xattrs.</summary>
internal static partial class LinuxNative
{
    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const uint StatxBasicStats = 0x7ff;
    public const ulong MsRdonly = 1;
    public const ulong MsNosuid = 2;
    public const ulong MsNodev = 4;
    public const ulong MsRemount = 32;
    public const ulong MsBind = 4096;
    public const ulong MsRec = 16384;
    public const int MntDetach = 2;
    public const int Enoent = 2;
    public const int Einval = 22;
    public const int Enodata = 61;

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string? fsType, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Umount2(string target, int flags);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Lchown(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chmod(string path, uint mode);

    public static void ChmodOrThrow(string path, uint mode)
    {
        if (Chmod(path, mode) != 0)
            throw new IOException($"chmod {path} {Convert.ToString(mode, 8)}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);

    public static void HardLinkOrThrow(string existing, string created)
    {
        if (Link(existing, created) != 0)
            throw new IOException($"link {created} -> {existing}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mknod(string path, uint mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxRaw(int dirfd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Lgetxattr(string path, string name, Span<byte> value, nuint size);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Lsetxattr(string path, string name, ReadOnlySpan<byte> value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Utimensat(int dirfd, string path, ReadOnlySpan<long> times, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct StatxBuffer
    {
        public uint Mask, BlkSize; public ulong Attributes;
        public uint Nlink, Uid, Gid; public ushort Mode, Spare0;
        public ulong Ino, Size, Blocks, AttributesMask;
        public long AtimeSec; public uint AtimeNsec; public int AtimeRes;
        public long BtimeSec; public uint BtimeNsec; public int BtimeRes;
        public long CtimeSec; public uint CtimeNsec; public int CtimeRes;
        public long MtimeSec; public uint MtimeNsec; public int MtimeRes;
        public uint RdevMajor, RdevMinor, DevMajor, DevMinor;
        public ulong S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10, S11, S12, S13;
    }

    /// <summary>lstat: never follows a final symlink. Null when the path does not exist.</summary>
    public static FileStat? LStat(string path)
    {
        if (StatxRaw(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, out var b) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Enoent or 20 /* ENOTDIR */) return null;
            throw new IOException($"statx {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return new FileStat(b.Mode, (int)b.Uid, (int)b.Gid, (long)b.Size, b.RdevMajor, b.RdevMinor,
            b.MtimeSec, b.MtimeNsec, b.Nlink, b.Ino, b.DevMajor, b.DevMinor);
    }

    public static void MountOrThrow(string source, string target, string? fsType, ulong flags, string? data)
    {
        if (Mount(source, target, fsType, flags, data) != 0)
            throw new IOException($"mount {fsType ?? "bind"} {source} on {target} ({data}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    public static void LchownOrThrow(string path, int uid, int gid)
    {
        if (Lchown(path, uid, gid) != 0)
            throw new IOException($"lchown {path} {uid}:{gid}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    public static void MknodOrThrow(string path, uint mode, uint major, uint minor)
    {
        var dev = ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
        if (Mknod(path, mode, dev) != 0)
            throw new IOException($"mknod {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>Value of an extended attribute, or null when it is not set.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        Span<byte> buffer = stackalloc byte[256];
        var n = Lgetxattr(path, name, buffer, (nuint)buffer.Length);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Enodata or 95 /* EOPNOTSUPP */) return null;
            throw new IOException($"lgetxattr {path} {name}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return buffer[..(int)n].ToArray();
    }

    public static void SetXattrOrThrow(string path, string name, ReadOnlySpan<byte> value)
    {
        if (Lsetxattr(path, name, value, (nuint)value.Length, 0) != 0)
            throw new IOException($"lsetxattr {path} {name}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>Sets atime and mtime without following a final symlink (symlinks keep their own times in a layer).</summary>
    public static void SetTimesNoFollow(string path, long seconds, long nanoseconds)
    {
        ReadOnlySpan<long> times = [seconds, nanoseconds, seconds, nanoseconds];
        if (Utimensat(AtFdCwd, path, times, AtSymlinkNoFollow) != 0)
            throw new IOException($"utimensat {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }
}
