using System.Runtime.InteropServices;

namespace BuildFarm.Oci.Native;

/// <summary>Turns a failed libc call into an IOException that names the input entry, the call and the errno.</summary>
internal static class NativeError
{
    public static IOException Io(string call, string path, string? entry = null, int? errno = null)
    {
        var code = errno ?? Marshal.GetLastPInvokeError();
        var prefix = entry is null || entry == path ? "" : entry + ": ";
        return new IOException($"{prefix}{call} {path}: {Marshal.GetPInvokeErrorMessage(code)} (errno {code})", code);
    }
}
