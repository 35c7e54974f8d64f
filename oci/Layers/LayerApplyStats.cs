using System.Diagnostics;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Where one layer's application spent its time (for BUILDFARM_TRACE): waiting for decompressed data, applying
/// entries, and what the runtime did meanwhile (methods JIT-compiled, GCs). Filled by <see cref="LayerApplier"/>.
/// </summary>
public sealed class LayerApplyStats
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly long _jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
    private readonly TimeSpan _jitTime = System.Runtime.JitInfo.GetCompilationTime();
    private readonly int _gcs = GC.CollectionCount(0);

    public int Entries { get; internal set; }
    public int Files { get; internal set; }
    public long FileBytes { get; internal set; }

    /// <summary>Time the extraction waited for the decompressing task (the read-ahead was empty).</summary>
    public TimeSpan WaitedForData { get; internal set; }

    /// <summary>Time the decompressing task spent reading and decompressing its source (a file, or a download).</summary>
    public TimeSpan Decompressing { get; internal set; }

    /// <summary>Time the decompressing task waited for the extraction to take a chunk (the read-ahead was full).</summary>
    public TimeSpan WaitedForExtraction { get; internal set; }

    /// <summary>Time spent writing file data (write(2) of entries' content).</summary>
    public TimeSpan WritingData { get; internal set; }

    public string Describe()
    {
        var total = Stopwatch.GetElapsedTime(_start);
        var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - _jitMethods;
        var jitTime = System.Runtime.JitInfo.GetCompilationTime() - _jitTime;
        return $"{total.TotalMilliseconds:F0} ms: {Entries} entries ({Files} files, {FileBytes / 1048576.0:F1} MB), " +
               $"waited for data {WaitedForData.TotalMilliseconds:F0} ms (decompressing {Decompressing.TotalMilliseconds:F0} ms, waited for extraction {WaitedForExtraction.TotalMilliseconds:F0} ms), " +
               $"file data writes {WritingData.TotalMilliseconds:F0} ms, " +
               $"JIT {jitMethods} methods {jitTime.TotalMilliseconds:F0} ms (process-wide), gen0 GCs {GC.CollectionCount(0) - _gcs}, " +
               $"pool threads {ThreadPool.ThreadCount}";
    }
}
