using BuildFarm.Coordinator.Images;
using System.CommandLine;
using System.Globalization;
using BuildFarm.Cache;
using BuildFarm.Cli.Containers;
using BuildFarm.Oci;
using BuildFarm.Cli.Remote;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm cache du|ls|prune|put|get</c> on the configured store (<c>--cache</c>, else BUILDFARM_CACHE,
/// else the local folder under $BUILDFARM_HOME).</summary>
public static class CacheCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var cacheOption = new Option<string?>("--cache")
        {
            Description = "Cache store: local, local:<path>, <path>, or s3://<bucket>?endpoint=http://host:port[&region=..&namespace=..] (default: $BUILDFARM_CACHE, else $BUILDFARM_HOME/cache)",
            Recursive = true,
        };
        var namespaceOption = new Option<string?>("--namespace") { Description = "A team's own cache namespace instead of the shared one", Recursive = true };
        var command = new Command("cache", "Inspect and prune the build cache (blobs and step records)");
        command.Options.Add(cacheOption);
        command.Options.Add(namespaceOption);

        SharedCache OpenCache(ParseResult parse)
        {
            if (parse.GetValue<string?>("--server") is not null)
                throw new ArgumentException("only du and prune work through --server; ls, put and get open a store this machine reaches (--cache)");
            var spec = parse.GetValue(cacheOption);
            var options = environment.StoreOptions(spec);
            if (parse.GetValue(namespaceOption) is { Length: > 0 } ns) options = options with { Namespace = ns };
            return ContentStoreFactory.Open(options);
        }

        var server = new Option<string?>("--server")
        {
            Description = "du and prune on a farm's shared cache (HOST:PORT or https://HOST:PORT; needs an admin token)",
            Recursive = true,
        };
        command.Options.Add(server);
        var duRemote = new RemoteOptions();
        var du = new Command("du", "Show how much the cache holds");
        foreach (var o in duRemote.All) du.Options.Add(o);
        du.SetAction((parse, ct) => RunAsync(async () =>
        {
            CacheUsage usage;
            if (parse.GetValue(server) is { } address)
            {
                using var endpoint = Endpoint(address, duRemote, parse, environment);
                var r = await RemoteCall(endpoint, () => endpoint.Client.CacheUsageAsync(new CacheUsageRequest(), cancellationToken: ct).ResponseAsync);
                usage = new CacheUsage(r.Location, r.Blobs, r.BlobBytes, r.Records, r.RecordBytes, r.ReferencedBlobs, r.ReferencedBytes,
                    r.OldestUseUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.OldestUseUnixMs),
                    r.NewestUseUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.NewestUseUnixMs));
            }
            else
            {
                using var cache = OpenCache(parse);
                usage = await new CachePruner(cache).MeasureAsync(ct);
            }
            Console.WriteLine($"store:       {usage.Location}");
            Console.WriteLine($"blobs:       {usage.Blobs} ({FormatSize(usage.BlobBytes)})");
            Console.WriteLine($"referenced:  {usage.ReferencedBlobs} ({FormatSize(usage.ReferencedBytes)}) by step records");
            Console.WriteLine($"reclaimable: {usage.Blobs - usage.ReferencedBlobs} ({FormatSize(usage.BlobBytes - usage.ReferencedBytes)}) not referenced by any record");
            Console.WriteLine($"records:     {usage.Records} ({FormatSize(usage.RecordBytes)})");
            if (usage.OldestUse is { } oldest) Console.WriteLine($"last used:   {oldest:u} .. {usage.NewestUse:u}");
        }));

        var blobsOption = new Option<bool>("--blobs") { Description = "List blobs instead of step records" };
        var ls = new Command("ls", "List step records (most recently used first) or blobs");
        ls.Options.Add(blobsOption);
        ls.SetAction((parse, ct) => RunAsync(async () =>
        {
            using var cache = OpenCache(parse);
            if (parse.GetValue(blobsOption))
            {
                Console.WriteLine($"{"DIGEST",-71} {"SIZE",10} MODIFIED");
                await foreach (var blob in cache.Blobs.ListAsync(ct))
                    Console.WriteLine($"{blob.Digest,-71} {FormatSize(blob.Size),10} {blob.LastModified:u}");
                return;
            }
            var entries = new List<StepRecordEntry>();
            await foreach (var e in cache.Records.ListAsync(ct)) entries.Add(e);
            Console.WriteLine($"{"KEY",-19} {"LAYER",-19} {"SIZE",10} {"CREATED",-20} {"LAST USED",-20} STEP");
            foreach (var e in entries.OrderByDescending(e => e.LastUsed))
            {
                var r = e.Record;
                Console.WriteLine($"{Short(r.Key),-19} {Short(r.Layer?.Digest),-19} {(r.Layer is null ? "-" : FormatSize(r.Layer.Size)),10} {r.Created,-20:u} {e.LastUsed,-20:u} {r.StepIdentity ?? "-"}");
            }
        }));

        var keepDuration = new Option<string?>("--keep-duration") { Description = "Remove records not used within this long (e.g. 48h, 7d)" };
        var keepStorage = new Option<string?>("--keep-storage") { Description = "Then remove least recently used records until blobs fit (e.g. 10GB, 512MB)" };
        var keepRoots = new Option<string[]>("--keep") { Description = "Digest of a blob to keep whatever records say (a manifest or index keeps its config and layers)", AllowMultipleArgumentsPerToken = true };
        var grace = new Option<string?>("--grace") { Description = "Keep blobs no record references for this long after upload (default 1h)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only report what would be removed" };
        var all = new Option<bool>("--all") { Description = "Remove every record and every unreferenced blob past the grace time" };
        var prune = new Command("prune", "Remove old step records and the blobs nothing references any more (images in `buildfarm images` are kept)");
        foreach (var o in new Option[] { keepDuration, keepStorage, keepRoots, grace, dryRun, all }) prune.Options.Add(o);
        var pruneRemote = new RemoteOptions();
        foreach (var o in pruneRemote.All) prune.Options.Add(o);
        prune.SetAction((parse, ct) => RunAsync(async () =>
        {
            var maxAge = parse.GetValue(all) ? TimeSpan.Zero : ParseDuration(parse.GetValue(keepDuration));
            var maxBytes = ParseSize(parse.GetValue(keepStorage));
            if (maxAge is null && maxBytes is null)
                throw new ArgumentException("say what to prune: --keep-duration, --keep-storage or --all");
            var options = new PruneOptions
            {
                MaxAge = maxAge,
                MaxTotalBytes = maxBytes,
                UnreferencedGrace = ParseDuration(parse.GetValue(grace)) ?? TimeSpan.FromHours(1),
                DryRun = parse.GetValue(dryRun),
            };
            var roots = (parse.GetValue(keepRoots) ?? []).Select(Digest.Parse).ToList();
            if (parse.GetValue(server) is { } address)
            {
                // The farm keeps its own images and what its running builds lease.
                using var endpoint = Endpoint(address, pruneRemote, parse, environment);
                var request = new PruneCacheRequest { DryRun = options.DryRun, GraceSeconds = (long)options.UnreferencedGrace.TotalSeconds, Keep = { roots.Select(r => r.ToString()) } };
                if (options.MaxAge is { } age) request.MaxAgeSeconds = (long)age.TotalSeconds;
                if (options.MaxTotalBytes is { } bytes) request.MaxTotalBytes = bytes;
                var r = await RemoteCall(endpoint, () => endpoint.Client.PruneCacheAsync(request, cancellationToken: ct).ResponseAsync);
                PrintReport(new PruneReport(r.RecordsRemoved, r.RecordsKept, r.BlobsRemoved, r.BytesRemoved, r.BlobsKept, r.BytesKept, r.DryRun));
                if (r.RunningBuilds > 0) Console.WriteLine($"kept what {r.RunningBuilds} running builds use");
                return;
            }
            // Named images have no step record of their own (manifest, config): keep them and everything they use.
            foreach (var image in await new LocalImageStore(environment.Home.Images).ListAsync(ct))
                roots.Add(Digest.Parse(image.RootDigest)); // an index keeps every platform
            // So are the images of kept containers (diff and commit read them), named or not.
            foreach (var container in await new ContainerStore(environment.Home.Containers).ListAsync(ct))
                roots.Add(Digest.Parse(container.ManifestDigest));
            using var cache = OpenCache(parse);
            PrintReport(await new CachePruner(cache, new PruneRoots(roots)).PruneAsync(options, ct));
        }));

        var putFile = new Argument<FileInfo>("file") { Description = "File to store" };
        var put = new Command("put", "Store a file as a blob and print its digest");
        put.Arguments.Add(putFile);
        put.SetAction((parse, ct) => RunAsync(async () =>
        {
            using var cache = OpenCache(parse);
            await using var file = parse.GetValue(putFile)!.OpenRead();
            Console.WriteLine(await cache.Blobs.PutAsync(file, null, ct));
        }));

        var getDigest = new Argument<string>("digest") { Description = "Digest of the blob" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write to this file (default: standard output)" };
        var get = new Command("get", "Write a blob (verified) to a file or standard output");
        get.Arguments.Add(getDigest);
        get.Options.Add(output);
        get.SetAction((parse, ct) => RunAsync(async () =>
        {
            using var cache = OpenCache(parse);
            var digest = Digest.Parse(parse.GetValue(getDigest)!);
            await using var blob = await cache.Blobs.OpenAsync(digest, ct);
            if (parse.GetValue(output) is { } target)
            {
                var temp = target.FullName + ".part";
                await using (var file = File.Create(temp)) await blob.CopyToAsync(file, ct);
                File.Move(temp, target.FullName, overwrite: true);
            }
            else
            {
                await using var stdout = Console.OpenStandardOutput();
                await blob.CopyToAsync(stdout, ct);
            }
        }));

        foreach (var sub in new[] { du, ls, prune, put, get }) command.Subcommands.Add(sub);
        return command;
    }

    private static void PrintReport(PruneReport report)
    {
        var verb = report.DryRun ? "would remove" : "removed";
        Console.WriteLine($"{verb} {report.RecordsRemoved} records and {report.BlobsRemoved} blobs ({FormatSize(report.BytesRemoved)}); " +
                          $"kept {report.RecordsKept} records and {report.BlobsKept} blobs ({FormatSize(report.BytesKept)})");
    }

    private static RemoteEndpoint Endpoint(string address, RemoteOptions remote, ParseResult parse, CliEnvironment environment)
    {
        try
        {
            return new RemoteEndpoint(address, remote.Resolve(parse, environment));
        }
        catch (UsageException e)
        {
            throw new ArgumentException(e.Message);
        }
    }

    // A refusal of the farm (not an admin token, unreachable) is the one error line of the command.
    private static async Task<T> RemoteCall<T>(RemoteEndpoint endpoint, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException e)
        {
            throw new IOException(endpoint.Describe(e));
        }
    }

    // Store failures are expected conditions for a CLI: one clear line, exit code 1.
    private static async Task<int> RunAsync(Func<Task> body)
    {
        try
        {
            await body();
            return 0;
        }
        catch (Exception e) when (e is IOException or ArgumentException or FormatException or BlobNotFoundException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"buildfarm cache: {e.Message}");
            return 1;
        }
    }

    private static string Short(string? digest) =>
        digest is null ? "-" : digest.Length > 19 ? digest[..19] : digest;

    private static string FormatSize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1) { value /= 1024; unit++; }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }

    private static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        var unit = text[^1];
        var multiplier = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, 'w' => 604800, _ => 0 };
        var number = multiplier == 0 ? text : text[..^1];
        if (multiplier == 0) multiplier = 1;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0)
            throw new FormatException($"invalid duration '{text}': use e.g. 90s, 30m, 48h, 7d");
        return TimeSpan.FromSeconds(n * multiplier);
    }

    private static long? ParseSize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var t = text.Trim().ToUpperInvariant().Replace("IB", "B", StringComparison.Ordinal);
        (string suffix, long mult)[] units = [("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("T", 1L << 40), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1)];
        foreach (var (suffix, mult) in units)
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0)
                return (long)(v * mult);
        if (long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var plain)) return plain;
        throw new FormatException($"invalid size '{text}': use e.g. 512MB, 10GB");
    }
}
