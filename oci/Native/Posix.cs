using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace BuildFarm.Oci.Native;

/// <summary>Thin libc wrappers for what layers need beyond System.IO: lstat, mknod, lchown, xattrs, link, utimensat.</summary>
public static partial class Posix
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int ENODATA = 61;
    private const int ENOTSUP = 95;
    private const int ERANGE = 34;

    public static FileStatus LStat(string path)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (lstat(path, ref MemoryMarshal.GetReference(buffer)) != 0)
            throw Error("lstat", path);
        return Decode(buffer);
    }

    /// <summary>Opens a regular file for reading without following a symlink, as a plain fd: no advisory lock, no
    /// read-ahead advice (FileStream's open adds both), which a layer of many small files pays per file.</summary>
    public static FileStream OpenReadNoFollow(string path)
    {
        // O_RDONLY | O_NOFOLLOW | O_CLOEXEC (spelled here: client/ links this file without OpenFlags)
        var noFollow = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;
        var fd = openat(AtFdCwd, path, noFollow | 0x80000, 0);
        if (fd < 0) throw NativeError.Io("open", path);
        return new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
    }

    public static bool TryLStat(string path, out FileStatus status)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (lstat(path, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            status = default;
            return false;
        }
        status = Decode(buffer);
        return true;
    }

    // struct stat differs between the generic (arm64) and x86_64 kernel ABIs; both keep size at 48, mtime at 88 and ctime at 104.
    internal static FileStatus Decode(ReadOnlySpan<byte> b)
    {
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            return new FileStatus(
                Device: BinaryPrimitives.ReadUInt64LittleEndian(b[0..]),
                Inode: BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
                LinkCount: BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
                Mode: BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
                Uid: BinaryPrimitives.ReadUInt32LittleEndian(b[28..]),
                Gid: BinaryPrimitives.ReadUInt32LittleEndian(b[32..]),
                RawDeviceNumber: BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
                Size: BinaryPrimitives.ReadInt64LittleEndian(b[48..]),
                ModificationSeconds: BinaryPrimitives.ReadInt64LittleEndian(b[88..]),
                ModificationNanoseconds: BinaryPrimitives.ReadInt64LittleEndian(b[96..]),
                ChangeSeconds: BinaryPrimitives.ReadInt64LittleEndian(b[104..]),
                ChangeNanoseconds: BinaryPrimitives.ReadInt64LittleEndian(b[112..]));
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            return new FileStatus(
                Device: BinaryPrimitives.ReadUInt64LittleEndian(b[0..]),
                Inode: BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
                LinkCount: BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
                Mode: BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
                Uid: BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
                Gid: BinaryPrimitives.ReadUInt32LittleEndian(b[28..]),
                RawDeviceNumber: BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
                Size: BinaryPrimitives.ReadInt64LittleEndian(b[48..]),
                ModificationSeconds: BinaryPrimitives.ReadInt64LittleEndian(b[88..]),
                ModificationNanoseconds: BinaryPrimitives.ReadInt64LittleEndian(b[96..]),
                ChangeSeconds: BinaryPrimitives.ReadInt64LittleEndian(b[104..]),
                ChangeNanoseconds: BinaryPrimitives.ReadInt64LittleEndian(b[112..]));
        }
        throw new PlatformNotSupportedException($"lstat decoding is implemented for x64 and arm64 Linux, not {RuntimeInformation.ProcessArchitecture}");
    }

    public static void MkNod(string path, uint mode, long major, long minor)
    {
        if (mknod(path, mode, FileStatus.MakeDevice(major, minor)) != 0)
            throw Error("mknod", path);
    }

    public static void LChown(string path, int uid, int gid)
    {
        if (lchown(path, uid, gid) != 0)
            throw Error("lchown", path);
    }

    public static void Chmod(string path, uint mode)
    {
        if (chmod(path, mode) != 0)
            throw Error("chmod", path);
    }

    public static void Link(string existing, string newPath)
    {
        if (link(existing, newPath) != 0)
            throw Error("link", newPath);
    }

    /// <summary>Sets atime and mtime without following a final symlink.</summary>
    public static void SetTimes(string path, long seconds, long nanoseconds)
    {
        Span<long> times = [seconds, nanoseconds, seconds, nanoseconds];
        if (utimensat(AtFdCwd, path, ref MemoryMarshal.GetReference(times), AtSymlinkNoFollow) != 0)
            throw Error("utimensat", path);
    }

    /// <summary>Extended attributes of a path (not following symlinks), sorted by name; empty when the file system has none.</summary>
    public static SortedDictionary<string, byte[]> ListXattrs(string path)
    {
        var result = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var size = llistxattr(path, ref Unsafe.NullRef<byte>(), 0);
        if (size < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENOTSUP) return result;
            throw Error("llistxattr", path);
        }
        if (size == 0) return result;
        var names = new byte[size + 64];
        size = llistxattr(path, ref names[0], names.Length);
        if (size < 0) throw Error("llistxattr", path);
        var start = 0;
        for (var i = 0; i < size; i++)
        {
            if (names[i] != 0) continue;
            if (i > start)
            {
                var name = Encoding.UTF8.GetString(names, start, i - start);
                var value = GetXattr(path, name);
                if (value is not null) result[name] = value;
            }
            start = i + 1;
        }
        return result;
    }

    public static byte[]? GetXattr(string path, string name)
    {
        while (true)
        {
            var size = lgetxattr(path, name, ref Unsafe.NullRef<byte>(), 0);
            if (size < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno is ENODATA or ENOTSUP) return null;
                throw Error("lgetxattr", path + " " + name);
            }
            if (size == 0) return [];
            var value = new byte[size];
            var got = lgetxattr(path, name, ref value[0], value.Length);
            if (got >= 0) return got == value.Length ? value : value[..(int)got];
            if (Marshal.GetLastPInvokeError() != ERANGE) throw Error("lgetxattr", path + " " + name);
        }
    }

    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        ref var first = ref value.Length == 0 ? ref Unsafe.NullRef<byte>() : ref MemoryMarshal.GetReference(value);
        if (lsetxattr(path, name, ref first, value.Length, 0) != 0)
            throw Error("lsetxattr", path + " " + name);
    }

    private static Win32Exception Error(string call, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new Win32Exception(errno, $"{call}({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int openat(int dirFd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lstat(string path, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mknod(string path, uint mode, ulong device);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string existing, string newPath);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int utimensat(int dirFd, string path, ref long times, int flags);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint llistxattr(string path, ref byte list, nint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lgetxattr(string path, string name, ref byte value, nint size);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lsetxattr(string path, string name, ref byte value, nint size, int flags);
}
