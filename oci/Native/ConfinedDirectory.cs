using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BuildFarm.Oci.Native;

/// <summary>
/// A directory fd beneath a <see cref="ConfinedRoot"/>. Every operation takes one name (no '/', never "." or "..")
/// and acts on that entry of this directory without following it when it is a symlink.
/// </summary>
public sealed class ConfinedDirectory : IDisposable
{
    private const int ENOENT = 2;
    private const int EEXIST = 17;
    private readonly ConfinedRoot _root;
    private int _fd;

    internal ConfinedDirectory(int fd, string relativePath, ConfinedRoot root)
    {
        _fd = fd;
        RelativePath = relativePath;
        _root = root;
    }

    internal int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(ConfinedDirectory));

    /// <summary>This directory's path relative to the root ("" for the root), for messages.</summary>
    public string RelativePath { get; }

    /// <summary>A path the kernel resolves to this very directory (for reads such as enumerating children).</summary>
    public string ProcPath => $"/proc/self/fd/{Fd}";

    public FileStatus? Stat(string name)
    {
        CheckName(name, Describe(name));
        Span<byte> buffer = stackalloc byte[256];
        if (AtCalls.FstatAt(Fd, name, ref MemoryMarshal.GetReference(buffer), OpenFlags.AtSymlinkNoFollow) == 0)
            return Posix.Decode(buffer);
        if (Marshal.GetLastPInvokeError() == ENOENT) return null;
        throw NativeError.Io("lstat", Describe(name));
    }

    /// <summary>Opens a child directory; a symlink there is refused, never followed.</summary>
    public ConfinedDirectory OpenChild(string name, string? entry = null)
    {
        CheckName(name, entry ?? Describe(name));
        var fd = _root.Step(Fd, name);
        if (fd < 0) throw ConfinedRoot.Refusal(Marshal.GetLastPInvokeError(), Describe(name), entry ?? Describe(name));
        return new ConfinedDirectory(fd, Describe(name), _root);
    }

    public void CreateDirectory(string name, uint mode = 0b111_101_101)
    {
        CheckName(name, Describe(name));
        if (AtCalls.MkdirAt(Fd, name, mode) != 0) throw NativeError.Io("mkdir", Describe(name));
    }

    /// <summary>Creates a new regular file for writing (O_EXCL|O_NOFOLLOW): an existing entry — a symlink included —
    /// is removed first when <paramref name="replace"/>, otherwise it is an error.</summary>
    public FileStream CreateFile(string name, uint mode = 0b110_100_100, bool replace = true)
    {
        CheckName(name, Describe(name));
        var flags = OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.NoFollow | OpenFlags.CloseOnExec;
        var fd = AtCalls.OpenAt(Fd, name, flags, mode);
        if (fd < 0 && replace && Marshal.GetLastPInvokeError() == EEXIST)
        {
            Remove(name);
            fd = AtCalls.OpenAt(Fd, name, flags, mode);
        }
        if (fd < 0) throw NativeError.Io("create", Describe(name));
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize: 0);
    }

    /// <summary>
    /// Creates <paramref name="name"/> (O_EXCL|O_NOFOLLOW: an existing entry is an error) holding the bytes of the regular
    /// file at <paramref name="sourcePath"/> (opened O_NOFOLLOW), copied in the kernel, then sets its owner, mode and
    /// times through the new file's own fd. About 8 system calls a file where a stream copy followed by the *at calls
    /// takes about 20 (glibc's fchmodat with AT_SYMLINK_NOFOLLOW alone opens an O_PATH fd and goes through /proc):
    /// what a COPY of many small files costs. Returns the bytes copied.
    /// </summary>
    public long CreateFileCopy(string name, string sourcePath, int uid, int gid, uint mode, long mtimeSeconds, long mtimeNanoseconds)
    {
        CheckName(name, Describe(name));
        var source = AtCalls.OpenAt(AtCalls.AtFdCwd, sourcePath, OpenFlags.ReadOnly | OpenFlags.NoFollow | OpenFlags.CloseOnExec, 0);
        if (source < 0) throw NativeError.Io("open", sourcePath);
        try
        {
            var flags = OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.NoFollow | OpenFlags.CloseOnExec;
            var target = AtCalls.OpenAt(Fd, name, flags, 0b110_000_000);
            if (target < 0) throw NativeError.Io("create", Describe(name));
            try
            {
                var copied = CopyContent(source, target, name);
                // chown clears setuid/setgid, so the mode goes after it; the times go last, after every write.
                if (AtCalls.Fchown(target, uid, gid) != 0) throw NativeError.Io("chown", Describe(name));
                if (AtCalls.Fchmod(target, mode & 0xFFF) != 0) throw NativeError.Io("chmod", Describe(name));
                Span<long> times = [mtimeSeconds, mtimeNanoseconds, mtimeSeconds, mtimeNanoseconds];
                if (AtCalls.Futimens(target, ref MemoryMarshal.GetReference(times)) != 0) throw NativeError.Io("utimensat", Describe(name));
                return copied;
            }
            finally
            {
                AtCalls.Close(target);
            }
        }
        finally
        {
            AtCalls.Close(source);
        }
    }

    private long CopyContent(int source, int target, string name)
    {
        const int EINTR = 4;
        const int EINVAL = 22;
        const int ENOSYS = 38;
        long copied = 0;
        while (true)
        {
            var sent = AtCalls.SendFile(target, source, 0, 1 << 30);
            if (sent > 0) { copied += sent; continue; }
            if (sent == 0) return copied;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            // A file system without splice support: copy through user space from where sendfile left off.
            if (errno is EINVAL or ENOSYS) return copied + CopyByReadWrite(source, target, copied);
            throw NativeError.Io("copy", Describe(name), errno: errno);
        }
    }

    private static long CopyByReadWrite(int source, int target, long offset)
    {
        using var from = new SafeFileHandle(source, ownsHandle: false);
        using var to = new SafeFileHandle(target, ownsHandle: false);
        var buffer = new byte[128 * 1024];
        long copied = 0;
        while (true)
        {
            var read = RandomAccess.Read(from, buffer, offset + copied);
            if (read == 0) return copied;
            RandomAccess.Write(to, buffer.AsSpan(0, read), offset + copied);
            copied += read;
        }
    }

    /// <summary>Creates a symlink; its target may say anything, since nothing here ever follows it.</summary>
    public void CreateSymlink(string name, string target)
    {
        CheckName(name, Describe(name));
        if (AtCalls.SymlinkAt(target, Fd, name) != 0) throw NativeError.Io("symlink", Describe(name));
    }

    /// <summary>Hard-links <paramref name="existingName"/> of <paramref name="existingDirectory"/> (not following it) as <paramref name="name"/>.</summary>
    public void CreateHardLink(string name, ConfinedDirectory existingDirectory, string existingName)
    {
        CheckName(name, Describe(name));
        CheckName(existingName, existingDirectory.Describe(existingName));
        if (AtCalls.LinkAt(existingDirectory.Fd, existingName, Fd, name, 0) != 0)
            throw NativeError.Io("link", Describe(name) + " -> " + existingDirectory.Describe(existingName));
    }

    public void MakeNode(string name, uint mode, long major, long minor)
    {
        CheckName(name, Describe(name));
        if (AtCalls.MknodAt(Fd, name, mode, FileStatus.MakeDevice(major, minor)) != 0) throw NativeError.Io("mknod", Describe(name));
    }

    public void SetOwner(string name, int uid, int gid)
    {
        CheckName(name, Describe(name));
        if (AtCalls.FchownAt(Fd, name, uid, gid, OpenFlags.AtSymlinkNoFollow) != 0) throw NativeError.Io("lchown", Describe(name));
    }

    /// <summary>chmod of a non-symlink (symlinks have no mode of their own on Linux).</summary>
    public void SetMode(string name, uint mode)
    {
        CheckName(name, Describe(name));
        if (AtCalls.FchmodAt(Fd, name, mode & 0xFFF, OpenFlags.AtSymlinkNoFollow) != 0) throw NativeError.Io("chmod", Describe(name));
    }

    public void SetTimes(string name, long seconds, long nanoseconds)
    {
        CheckName(name, Describe(name));
        Span<long> times = [seconds, nanoseconds, seconds, nanoseconds];
        if (AtCalls.UtimensAt(Fd, name, ref MemoryMarshal.GetReference(times), OpenFlags.AtSymlinkNoFollow) != 0)
            throw NativeError.Io("utimensat", Describe(name));
    }

    /// <summary>lsetxattr through this directory's fd: the parent is pinned, the entry itself is not followed.</summary>
    public void SetXattr(string name, string key, ReadOnlySpan<byte> value)
    {
        CheckName(name, Describe(name));
        Posix.SetXattr($"{ProcPath}/{name}", key, value);
    }

    /// <summary>An xattr on this directory itself (an overlay opaque marker).</summary>
    public void SetOwnXattr(string key, ReadOnlySpan<byte> value)
    {
        var copy = value.ToArray();
        ref var first = ref copy.Length == 0 ? ref System.Runtime.CompilerServices.Unsafe.NullRef<byte>() : ref copy[0];
        if (AtCalls.SetXattr(ProcPath, key, ref first, copy.Length, 0) != 0) throw NativeError.Io("setxattr " + key, RelativePath);
    }

    /// <summary>Names of the entries in this directory, sorted ordinally.</summary>
    public List<string> ChildNames() =>
        Directory.EnumerateFileSystemEntries(ProcPath).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();

    /// <summary>Removes an entry if present; a directory goes with everything in it, never following a symlink.</summary>
    public void Remove(string name)
    {
        if (Stat(name) is not { } status) return;
        if (status.Type == FileStatus.Directory)
        {
            using (var child = OpenChild(name))
                foreach (var grandchild in child.ChildNames()) child.Remove(grandchild);
            if (AtCalls.UnlinkAt(Fd, name, OpenFlags.AtRemoveDir) != 0) throw NativeError.Io("rmdir", Describe(name));
            return;
        }
        if (AtCalls.UnlinkAt(Fd, name, 0) != 0 && Marshal.GetLastPInvokeError() != ENOENT) throw NativeError.Io("unlink", Describe(name));
    }

    internal string Describe(string name) => RelativePath.Length == 0 ? name : RelativePath + "/" + name;

    /// <summary>One path component: not empty, no '/', no NUL, not "." or "..".</summary>
    public static void CheckName(string name, string entry)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Contains('\0'))
            throw new UnsafePathException(entry, $"{entry}: '{name}' is not a plain name beneath the root");
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        AtCalls.Close(_fd);
        _fd = -1;
    }
}
