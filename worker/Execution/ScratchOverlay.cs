using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Native;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Worker.Execution;

/// <summary>A writable overlay over a read-only folder whose writes are thrown away on dispose
/// (RUN --mount=type=bind,rw: the container may write, the context never changes).</summary>
internal sealed class ScratchOverlay : IDisposable
{
    private readonly string _work;

    public ScratchOverlay(string lower, string workRoot)
    {
        _work = Path.Combine(workRoot, $"ovl-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24]);
        Merged = Path.Combine(_work, "m");
        var upper = Path.Combine(_work, "u");
        var work = Path.Combine(_work, "w");
        foreach (var d in new[] { Merged, upper, work }) Directory.CreateDirectory(d);
        try
        {
            LinuxNative.MountOrThrow("overlay", Merged, "overlay", 0, $"lowerdir={lower},upperdir={upper},workdir={work}");
        }
        catch
        {
            TreeRemover.Remove(_work);
            throw;
        }
    }

    public string Merged { get; }

    public void Dispose()
    {
        OverlaySnapshotter.Unmount(Merged);
        TreeRemover.Remove(_work);
    }
}
