using BuildFarm.Worker.Native;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Execution;

/// <summary>A private tmpfs on the worker (secret files live there so their content never reaches a disk).</summary>
internal sealed class TmpfsMount : IDisposable
{
    public TmpfsMount(string path, string options)
    {
        Path = path;
        Directory.CreateDirectory(path);
        LinuxNative.MountOrThrow("tmpfs", path, "tmpfs", LinuxNative.MsNosuid | LinuxNative.MsNodev, options);
    }

    public string Path { get; }

    public void Dispose()
    {
        OverlaySnapshotter.Unmount(Path);
        Directory.Delete(Path, recursive: true);
    }
}
