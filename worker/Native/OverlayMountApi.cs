using System.Runtime.InteropServices;
using System.Text;

namespace BuildFarm.Worker.Native;

/// <summary>
/// Mounts overlayfs through the new mount API (fsopen/fsconfig/fsmount/move_mount), one <c>lowerdir+</c> call per
/// layer (Linux 6.8+): no one-page limit on the option string, so a chain up to the kernel's 500 layers needs no
/// flattening.
/// </summary>
internal static partial class OverlayMountApi
{
    private const uint FsopenCloexec = 1;
    private const uint FsconfigSetFlag = 0;
    private const uint FsconfigSetString = 1;
    private const uint FsconfigCmdCreate = 6;
    private const uint FsmountCloexec = 1;
    private const uint MountAttrRdonly = 1;
    private const uint MoveMountFEmptyPath = 4;
    private const int Enosys = 38;

    private static volatile bool s_unsupported;

    [LibraryImport("libc", EntryPoint = "fsopen", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FsOpen(string fsName, uint flags);

    [LibraryImport("libc", EntryPoint = "fsconfig", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FsConfig(int fd, uint cmd, string? key, string? value, int aux);

    [LibraryImport("libc", EntryPoint = "fsmount", SetLastError = true)]
    private static partial int FsMount(int fd, uint flags, uint attrFlags);

    [LibraryImport("libc", EntryPoint = "move_mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MoveMount(int fromDirFd, string fromPath, int toDirFd, string toPath, uint flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, Span<byte> buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>
    /// Mounts an overlay of <paramref name="lowers"/> (topmost first) on <paramref name="target"/>, read-only when
    /// <paramref name="upper"/> is null. False when this libc or kernel lacks the API or <c>lowerdir+</c> (the
    /// caller then uses mount(2)); an <see cref="IOException"/> when the kernel refuses the mount itself.
    /// </summary>
    public static bool TryMount(string target, IReadOnlyList<string> lowers, string? upper, string? work,
        IEnumerable<KeyValuePair<string, string>> options)
    {
        if (s_unsupported) return false;
        int fs;
        try
        {
            fs = FsOpen("overlay", FsopenCloexec);
        }
        catch (EntryPointNotFoundException)
        {
            s_unsupported = true;
            return false;
        }
        if (fs < 0)
        {
            if (Marshal.GetLastPInvokeError() == Enosys) { s_unsupported = true; return false; }
            throw Error("fsopen overlay", -1);
        }
        try
        {
            for (var i = 0; i < lowers.Count; i++)
            {
                if (FsConfig(fs, FsconfigSetString, "lowerdir+", lowers[i], 0) == 0) continue;
                // before 6.8 overlay does not know the key at all: the first layer tells
                if (i == 0 && Marshal.GetLastPInvokeError() == LinuxNative.Einval) { s_unsupported = true; return false; }
                throw Error($"overlay lowerdir+={lowers[i]}", fs);
            }
            var settings = new List<KeyValuePair<string, string>>();
            if (upper is not null) settings.Add(new("upperdir", upper));
            if (work is not null) settings.Add(new("workdir", work));
            foreach (var (key, value) in settings.Concat(options))
                if (FsConfig(fs, FsconfigSetString, key, value, 0) != 0) throw Error($"overlay {key}={value}", fs);
            // A writable snapshot's upper is read back by the differ right after the step, never recovered after a
            // host crash: without 'volatile' every unmount runs syncfs on the whole upper filesystem (and waits for
            // whatever else is being written there), the largest fixed cost of a COPY of many files.
            if (upper is not null && FsConfig(fs, FsconfigSetFlag, "volatile", null, 0) != 0) throw Error("overlay volatile", fs);
            if (FsConfig(fs, FsconfigCmdCreate, null, null, 0) != 0)
                throw Error($"overlay of {lowers.Count} lowerdirs on {target}", fs);
            var mount = FsMount(fs, FsmountCloexec, upper is null ? MountAttrRdonly : 0);
            if (mount < 0) throw Error($"fsmount overlay on {target}", fs);
            try
            {
                if (MoveMount(mount, "", LinuxNative.AtFdCwd, target, MoveMountFEmptyPath) != 0)
                    throw Error($"move_mount overlay to {target}", -1);
            }
            finally
            {
                Close(mount);
            }
            return true;
        }
        finally
        {
            Close(fs);
        }
    }

    /// <summary>The errno, plus what the filesystem logged on its context (the reason mount(2) leaves in dmesg).</summary>
    private static IOException Error(string what, int fs)
    {
        var message = new StringBuilder($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        if (fs >= 0)
        {
            Span<byte> buffer = stackalloc byte[1024];
            for (var i = 0; i < 8; i++)
            {
                var n = Read(fs, buffer, (nuint)buffer.Length);
                if (n <= 0) break;
                message.Append(" (").Append(Encoding.UTF8.GetString(buffer[..(int)n])).Append(')');
            }
        }
        return new IOException(message.ToString());
    }
}
