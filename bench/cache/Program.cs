// Put/get throughput of the cache stores next to what the machine can do without them: cp of the same file and
// a plain S3 PUT/GET with curl --aws-sigv4 against the same server. Prints a markdown table.
// usage: BuildFarm.Bench.Cache --work DIR --endpoint URL --access AK --secret SK [--sizes 1,200] [--runs-small 20] [--runs-large 3]
using System.Diagnostics;
using System.Globalization;
using BuildFarm.Cache;
using BuildFarm.Oci;

var arguments = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) arguments[args[i].TrimStart('-')] = args[i + 1];
string Arg(string name, string? fallback = null) =>
    arguments.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"missing --{name}");

var work = Arg("work");
var endpoint = Arg("endpoint").TrimEnd('/');
var access = Arg("access");
var secret = Arg("secret");
var sizes = Arg("sizes", "1,200").Split(',').Select(int.Parse).ToArray();
var runsSmall = int.Parse(Arg("runs-small", "20"), CultureInfo.InvariantCulture);
var runsLarge = int.Parse(Arg("runs-large", "3"), CultureInfo.InvariantCulture);
const string bucket = "bench";
Directory.CreateDirectory(work);

using var local = ContentStoreFactory.Open(new ContentStoreOptions { Kind = ContentStoreKind.Local, Path = Path.Combine(work, "local-cache") });
using var s3 = ContentStoreFactory.Open(new ContentStoreOptions
{
    Kind = ContentStoreKind.S3, Endpoint = endpoint, Bucket = bucket, AccessKey = access, SecretKey = secret,
    SpoolDirectory = Path.Combine(work, "spool"),
});
using var s3Multipart = ContentStoreFactory.Open(new ContentStoreOptions
{
    Kind = ContentStoreKind.S3, Endpoint = endpoint, Bucket = bucket, AccessKey = access, SecretKey = secret,
    Namespace = "multipart", MultipartThresholdBytes = 8 << 20, SpoolDirectory = Path.Combine(work, "spool"),
});
await s3.Blobs.ExistsAsync(Digest.Compute([])); // creates the bucket outside the timings

var rows = new List<string>();
foreach (var mb in sizes)
{
    var runs = mb >= 50 ? runsLarge : runsSmall;
    var source = Path.Combine(work, $"blob-{mb}m.bin");
    await WriteRandomAsync(source, mb);
    var digest = await DigestOfAsync(source);
    var bytes = (long)mb << 20;

    rows.Add(Row("cp (file → file; cat → /dev/null)", mb, runs, bytes,
        () => RunAsync("cp", source, Path.Combine(work, "cp-copy.bin")),
        () => RunAsync("sh", "-c", $"cat '{Path.Combine(work, "cp-copy.bin")}' > /dev/null"),
        () => Task.Run(() => File.Delete(Path.Combine(work, "cp-copy.bin")))));

    var url = $"{endpoint}/{bucket}/curl-{mb}m";
    string[] sig = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", $"{access}:{secret}", "-H", "x-amz-content-sha256:UNSIGNED-PAYLOAD", "-sf", "-o", "/dev/null"];
    rows.Add(Row("curl --aws-sigv4 PUT/GET (same S3 server)", mb, runs, bytes,
        () => RunAsync("curl", [.. sig, "-T", source, url]),
        () => RunAsync("curl", [.. sig, url]),
        () => RunAsync("curl", [.. sig, "-X", "DELETE", url])));

    foreach (var (name, cache) in new[]
             {
                 ("LocalContentStore", local),
                 ("S3ContentStore (one streamed PUT up to 1 GiB, the default)", s3),
                 ("S3ContentStore (Minio SDK multipart, threshold set to 8 MiB)", s3Multipart),
             })
        rows.Add(Row(name, mb, runs, bytes,
            async () =>
            {
                await using var file = File.OpenRead(source);
                // As a worker uploads a layer: it knows the digest from compressing, the store still verifies it.
                if (await cache.Blobs.PutAsync(file, digest) != digest) throw new InvalidOperationException("wrong digest");
            },
            async () =>
            {
                await using var blob = await cache.Blobs.OpenAsync(digest);
                await blob.CopyToAsync(Stream.Null);
            },
            () => cache.Blobs.DeleteAsync(digest)));
    File.Delete(source);
}

Console.WriteLine($"| what | blob | put MB/s | get MB/s | runs (median) |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
foreach (var row in rows) Console.WriteLine(row);
return 0;

string Row(string name, int mb, int runs, long bytes, Func<Task> put, Func<Task> get, Func<Task> cleanup)
{
    var putTimes = new List<double>();
    var getTimes = new List<double>();
    for (var i = 0; i < runs; i++)
    {
        putTimes.Add(Time(put));
        getTimes.Add(Time(get));
        cleanup().GetAwaiter().GetResult(); // the next put must really write (put-if-absent would skip it)
    }
    double Rate(List<double> seconds) => bytes / 1e6 / Median(seconds);
    Console.Error.WriteLine($"{name} {mb} MB: put {Rate(putTimes):0} MB/s, get {Rate(getTimes):0} MB/s");
    return string.Create(CultureInfo.InvariantCulture, $"| {name} | {mb} MiB | {Rate(putTimes):0} | {Rate(getTimes):0} | {runs} |");
}

static double Time(Func<Task> action)
{
    var clock = Stopwatch.StartNew();
    action().GetAwaiter().GetResult();
    return clock.Elapsed.TotalSeconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

static async Task RunAsync(string file, params string[] args)
{
    using var process = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false })
                        ?? throw new InvalidOperationException($"could not start {file}");
    await process.WaitForExitAsync();
    if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}");
}

static async Task WriteRandomAsync(string path, int megabytes)
{
    var buffer = new byte[1 << 20];
    await using var file = File.Create(path);
    for (var i = 0; i < megabytes; i++)
    {
        Random.Shared.NextBytes(buffer);
        await file.WriteAsync(buffer);
    }
}

static async Task<Digest> DigestOfAsync(string path)
{
    await using var file = File.OpenRead(path);
    return await Digest.ComputeAsync(file);
}
