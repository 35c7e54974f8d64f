using System.Diagnostics;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Bench.Oci;

/// <summary>
/// Unpacks one gzip/zstd layer blob the way the worker does (overlay whiteouts, diff id computed) N times into fresh
/// folders, beside `tar -xzf` of the same blob: where the cold path's unpack time goes, and whether it grows over repeats.
/// </summary>
public static class UnpackBench
{
    public static async Task<int> RunAsync(string blob, int repeats, string mediaType)
    {
        var parent = Directory.CreateTempSubdirectory("bf-bench-unpack-").FullName;
        // As the worker's snapshotter marks its layers folder (TopDirectoryFlag): each tree in a lightly used ext4 block
        // group, not beside inodes just freed. GNU tar below extracts under the same parent, so both get it.
        using (var chattr = Process.Start(new ProcessStartInfo("chattr", ["+T", parent]) { RedirectStandardError = true }))
            chattr?.WaitForExit();
        try
        {
            Console.WriteLine($"{new FileInfo(blob).Length / 1048576.0:F1} MB blob {Path.GetFileName(blob)[..12]}; {repeats} repeats; {Environment.ProcessorCount} cores (shared machine: noisy)");
            Console.WriteLine($"{"pipeline",-34} {"repeat",6} {"seconds",8} {"cpu s",8}");
            var applier = new LayerApplier(new LayerApplyOptions { Whiteouts = WhiteoutTranslation.Overlay });
            for (var r = 0; r < repeats; r++)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var watch = Stopwatch.StartNew();
                await using (var input = File.OpenRead(blob))
                await using (var tar = LayerCompressor.OpenDecompressed(input, mediaType))
                    await tar.CopyToAsync(Stream.Null);
                Console.WriteLine($"{"decompress only",-34} {r + 1,6} {watch.Elapsed.TotalSeconds,8:F2} {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds,8:F2}");

                var target = Path.Combine(parent, $"bf-{r}");
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                watch.Restart();
                var stats = new LayerApplyStats();
                await using (var input = File.OpenRead(blob))
                    await applier.ApplyBlobAsync(input, mediaType, target, stats);
                Console.WriteLine($"{"buildfarm apply (overlay form)",-34} {r + 1,6} {watch.Elapsed.TotalSeconds,8:F2} {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds,8:F2}");
                Console.WriteLine($"  {stats.Describe()}");

                var tarTarget = Path.Combine(parent, $"tar-{r}");
                Directory.CreateDirectory(tarTarget);
                watch.Restart();
                using (var tar = Process.Start(new ProcessStartInfo("tar", ["-xf", blob, "-C", tarTarget]))!)
                    await tar.WaitForExitAsync();
                Console.WriteLine($"{"GNU tar -xf",-34} {r + 1,6} {watch.Elapsed.TotalSeconds,8:F2} {"",8}");
            }
            return 0;
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }
}
