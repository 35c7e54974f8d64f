using System.Runtime.InteropServices;

namespace BuildFarm.Oci.Native;

/// <summary>
/// A directory that outside input writes beneath, never through a symlink: every directory below it is opened with
/// <c>openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)</c> (or, on a kernel without openat2, a component-by-component
/// <c>openat(O_NOFOLLOW | O_DIRECTORY)</c> walk), and every write happens relative to that directory fd. A path that
/// meets a symlink or climbs out is refused with <see cref="UnsafePathException"/> naming the entry.
/// </summary>
public sealed class ConfinedRoot : IDisposable
{
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;
    private const int EEXIST = 17;
    private const int ELOOP = 40;
    private const int EXDEV = 18;
    private const int EAGAIN = 11;
    private const int AtFdCwd = -100;

    private static readonly Lazy<bool> Openat2Probe = new(ProbeOpenat2);
    private readonly ConfinedDirectory _top;
    private readonly bool _useOpenat2;

    private ConfinedRoot(string path, int fd, bool useOpenat2)
    {
        Path = path;
        _top = new ConfinedDirectory(fd, "", this);
        _useOpenat2 = useOpenat2;
    }

    /// <summary>The root as the caller named it (trusted: it is ours, not the input's).</summary>
    public string Path { get; }

    /// <summary>True when this kernel has openat2(2); otherwise the fallback walk is used.</summary>
    public static bool KernelHasOpenat2 => Openat2Probe.Value;

    /// <summary>Whether this root resolves with openat2 (false: the openat walk).</summary>
    public bool UsesOpenat2 => _useOpenat2;

    /// <summary>Opens an existing directory as a root. <paramref name="allowOpenat2"/> false forces the fallback walk (tests).</summary>
    public static ConfinedRoot Open(string path, bool allowOpenat2 = true)
    {
        var full = System.IO.Path.GetFullPath(path);
        var fd = AtCalls.OpenAt(AtFdCwd, full, OpenFlags.PathOnly | OpenFlags.Directory | OpenFlags.CloseOnExec, 0);
        if (fd < 0) throw NativeError.Io("open root", full);
        return new ConfinedRoot(full, fd, allowOpenat2 && KernelHasOpenat2);
    }

    /// <summary>Opens (and with <paramref name="create"/>, makes with mode 0755) the directory at a relative path.
    /// <paramref name="entry"/> names the input entry in errors.</summary>
    public ConfinedDirectory OpenDirectory(string relative, bool create, string? entry = null) =>
        OpenDirectory(Split(relative, entry ?? relative), create, entry ?? relative)
        ?? throw new DirectoryNotFoundException($"{entry ?? relative}: directory {relative} does not exist");

    /// <summary>Null when a component is missing and <paramref name="create"/> is false.</summary>
    public ConfinedDirectory? OpenDirectory(IReadOnlyList<string> components, bool create, string entry)
    {
        foreach (var c in components) ConfinedDirectory.CheckName(c, entry);
        if (components.Count == 0) return Reopen(_top.Fd, ".", "", entry);
        var relative = string.Join('/', components);
        if (_useOpenat2)
        {
            var fd = Openat2(_top.Fd, relative);
            if (fd >= 0) return new ConfinedDirectory(fd, relative, this);
            var errno = Marshal.GetLastPInvokeError();
            if (errno != ENOENT) throw Refusal(errno, relative, entry);
            if (!create) return null;
        }
        return Walk(components, create, entry);
    }

    /// <summary>Component by component from the root: the creating path, and the whole walk without openat2.</summary>
    private ConfinedDirectory? Walk(IReadOnlyList<string> components, bool create, string entry)
    {
        var current = Reopen(_top.Fd, ".", "", entry);
        try
        {
            foreach (var name in components)
            {
                var relative = current.RelativePath.Length == 0 ? name : current.RelativePath + "/" + name;
                var fd = Step(current.Fd, name);
                if (fd < 0 && Marshal.GetLastPInvokeError() == ENOENT && create)
                {
                    if (AtCalls.MkdirAt(current.Fd, name, 0b111_101_101) != 0 && Marshal.GetLastPInvokeError() != EEXIST)
                        throw NativeError.Io("mkdir", relative, entry);
                    fd = Step(current.Fd, name);
                }
                if (fd < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == ENOENT && !create) return null;
                    throw Refusal(errno, relative, entry);
                }
                var next = new ConfinedDirectory(fd, relative, this);
                current.Dispose();
                current = next;
            }
            var done = current;
            current = null!;
            return done;
        }
        finally
        {
            current?.Dispose();
        }
    }

    /// <summary>One component down from <paramref name="dirFd"/>, never following a symlink; -1 with errno set on failure.</summary>
    internal int Step(int dirFd, string name)
    {
        if (_useOpenat2) return Openat2(dirFd, name);
        Span<byte> buffer = stackalloc byte[256];
        var fd = AtCalls.OpenAt(dirFd, name, OpenFlags.PathOnly | OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec, 0);
        if (fd < 0)
        {
            // O_DIRECTORY|O_NOFOLLOW on a symlink says ENOTDIR: tell a symlink (refused as unsafe) from a plain file.
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENOTDIR &&
                AtCalls.FstatAt(dirFd, name, ref MemoryMarshal.GetReference(buffer), OpenFlags.AtSymlinkNoFollow) == 0 &&
                Posix.Decode(buffer).Type == FileStatus.Symlink)
                errno = ELOOP;
            Marshal.SetLastPInvokeError(errno);
            return -1;
        }
        // O_PATH|O_NOFOLLOW could hand back the symlink itself: check what was opened.
        if (AtCalls.FstatAt(fd, "", ref MemoryMarshal.GetReference(buffer), OpenFlags.AtEmptyPath) != 0 ||
            Posix.Decode(buffer).Type != FileStatus.Directory)
        {
            var symlink = Posix.Decode(buffer).Type == FileStatus.Symlink;
            AtCalls.Close(fd);
            Marshal.SetLastPInvokeError(symlink ? ELOOP : ENOTDIR);
            return -1;
        }
        return fd;
    }

    private ConfinedDirectory Reopen(int dirFd, string name, string relative, string entry)
    {
        var fd = AtCalls.OpenAt(dirFd, name, OpenFlags.PathOnly | OpenFlags.Directory | OpenFlags.CloseOnExec, 0);
        if (fd < 0) throw NativeError.Io("open", relative.Length == 0 ? "." : relative, entry);
        return new ConfinedDirectory(fd, relative, this);
    }

    private static int Openat2(int dirFd, string path)
    {
        var how = new AtCalls.OpenHow
        {
            Flags = (ulong)(OpenFlags.PathOnly | OpenFlags.Directory | OpenFlags.CloseOnExec),
            Resolve = OpenFlags.ResolveBeneath | OpenFlags.ResolveNoSymlinks | OpenFlags.ResolveNoMagicLinks,
        };
        // The kernel answers EAGAIN when a rename elsewhere raced with a RESOLVE_BENEATH walk: try again.
        for (var attempt = 0; ; attempt++)
        {
            var fd = (int)AtCalls.Openat2(AtCalls.Openat2SyscallNumber, dirFd, path, ref how, (nuint)Marshal.SizeOf<AtCalls.OpenHow>());
            if (fd >= 0 || attempt == 16 || Marshal.GetLastPInvokeError() != EAGAIN) return fd;
        }
    }

    internal static Exception Refusal(int errno, string relative, string entry) => errno switch
    {
        ELOOP => new UnsafePathException(entry, $"{entry}: refusing to write through the symlink in '{relative}'"),
        EXDEV => new UnsafePathException(entry, $"{entry}: '{relative}' leaves the root"),
        ENOTDIR => new IOException($"{entry}: '{relative}' is not a directory"),
        _ => NativeError.Io("open", relative, entry, errno),
    };

    /// <summary>Lexically splits a relative path into names; "." vanishes, ".." and absolute paths are refused.</summary>
    public static List<string> Split(string relative, string entry)
    {
        if (relative.StartsWith('/'))
            throw new UnsafePathException(entry, $"{entry}: absolute path where a path relative to the root was expected");
        var parts = new List<string>();
        foreach (var p in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            ConfinedDirectory.CheckName(p, entry);
            parts.Add(p);
        }
        return parts;
    }

    private static bool ProbeOpenat2()
    {
        var how = new AtCalls.OpenHow { Flags = (ulong)(OpenFlags.PathOnly | OpenFlags.Directory | OpenFlags.CloseOnExec) };
        var fd = (int)AtCalls.Openat2(AtCalls.Openat2SyscallNumber, AtFdCwd, "/", ref how, (nuint)Marshal.SizeOf<AtCalls.OpenHow>());
        if (fd >= 0)
        {
            AtCalls.Close(fd);
            return true;
        }
        // ENOSYS is the expected "no openat2 here"; anything else odd also means: use the walk.
        return false;
    }

    public void Dispose() => _top.Dispose();
}
