using System.Diagnostics;
using System.Globalization;
using BuildFarm.Bench.Oci;
using BuildFarm.Oci.Layers;

// Layer tar+gzip and tar+zstd throughput of BuildFarm.Oci next to GNU tar piped into gzip/zstd, on one generated tree.
// Usage: dotnet run -c Release --project bench/oci [-- --size-mb 500] [--keep]
// Usage: dotnet run -c Release --project bench/oci -- --unpack BLOB [--repeats N] [--media-type T]: the worker's unpack of one layer blob
if (args.Length >= 2 && args[0] == "--unpack")
{
    var repeats = Array.IndexOf(args, "--repeats") is var ri and > 0 ? int.Parse(args[ri + 1], CultureInfo.InvariantCulture) : 3;
    var mediaType = Array.IndexOf(args, "--media-type") is var mi and > 0 ? args[mi + 1] : "application/vnd.oci.image.layer.v1.tar+gzip";
    return await UnpackBench.RunAsync(args[1], repeats, mediaType);
}
var sizeMb = 500;
var keep = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--size-mb" && i + 1 < args.Length) sizeMb = int.Parse(args[++i], CultureInfo.InvariantCulture);
    else if (args[i] == "--keep") keep = true;
    else { Console.Error.WriteLine($"unknown argument '{args[i]}'; use --size-mb N and --keep"); return 2; }
}

var root = Directory.CreateTempSubdirectory("bf-bench-oci-").FullName;
try
{
    Console.WriteLine($"generating a {sizeMb} MB tree in {root} ...");
    var bytes = TreeGenerator.Generate(root, sizeMb * 1024L * 1024L);
    var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Count();
    Console.WriteLine($"{files} files, {bytes / 1048576.0:F0} MB of content; {Environment.ProcessorCount} cores visible (numbers are noisy on a shared machine)");
    Console.WriteLine();
    Console.WriteLine($"{"pipeline",-34} {"seconds",8} {"MB/s",8} {"cpu s",8} {"MB/cpu-s",9} {"blob MB",8}");

    foreach (var (name, compression) in new[]
             {
                 ("buildfarm layer tar (+2 sha256)", LayerCompression.None),
                 ("buildfarm layer tar+gzip", LayerCompression.Gzip),
                 ("buildfarm layer tar+zstd", LayerCompression.Zstd),
             })
    {
        var sink = new CountingStream();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var layer = await LayerCompressor.CompressDirectoryAsync(root, sink, compression);
        watch.Stop();
        Report(name, watch.Elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu, layer.UncompressedSize, sink.Count);
    }
    foreach (var (name, command) in new[]
             {
                 ("tar | gzip (level 6)", "tar --sort=name -C \"$0\" -cf - . | gzip -6 -c | wc -c"),
                 ("tar | zstd (level 3, 1 thread)", "tar --sort=name -C \"$0\" -cf - . | zstd -3 -T1 -q -c | wc -c"),
             })
    {
        var tarBytes = long.Parse(await Shell("tar --sort=name -C \"$0\" -cf - . | wc -c", root), CultureInfo.InvariantCulture);
        var watch = Stopwatch.StartNew();
        var output = (await Shell(command + "; times", root)).Split('\n');
        watch.Stop();
        // bash's `times` prints the shell's and then its children's user and system time.
        var children = output[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var cpu = ParseBashTime(children[0]) + ParseBashTime(children[1]);
        Report(name, watch.Elapsed, cpu, tarBytes, long.Parse(output[0], CultureInfo.InvariantCulture));
    }
    return 0;
}
finally
{
    if (!keep) Directory.Delete(root, recursive: true);
}

static void Report(string name, TimeSpan elapsed, TimeSpan cpu, long tarBytes, long blobBytes) =>
    Console.WriteLine($"{name,-34} {elapsed.TotalSeconds,8:F2} {tarBytes / 1048576.0 / elapsed.TotalSeconds,8:F1} {cpu.TotalSeconds,8:F2} {tarBytes / 1048576.0 / cpu.TotalSeconds,9:F1} {blobBytes / 1048576.0,8:F1}");

// "1m2.345s" → TimeSpan
static TimeSpan ParseBashTime(string text)
{
    var m = text.IndexOf('m');
    var minutes = double.Parse(text[..m], CultureInfo.InvariantCulture);
    var seconds = double.Parse(text[(m + 1)..].TrimEnd('s'), CultureInfo.InvariantCulture);
    return TimeSpan.FromSeconds(minutes * 60 + seconds);
}

static async Task<string> Shell(string script, string root)
{
    var psi = new ProcessStartInfo("bash", ["-o", "pipefail", "-c", script, root]) { RedirectStandardOutput = true, RedirectStandardError = true };
    using var process = Process.Start(psi)!;
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    if (process.ExitCode != 0) throw new InvalidOperationException($"'{script}' failed: {await stderr}");
    return (await stdout).Trim();
}
