using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.IntegrationTests.Cache;

public sealed class LocalKilledWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"buildfarm-kill-{Guid.NewGuid():N}");

    [Fact]
    public async Task Writer_process_killed_mid_write_leaves_no_visible_blob_and_its_temp_file_is_pruned()
    {
        Directory.CreateDirectory(_dir);
        // The writer reads a FIFO that this test feeds and never closes: it is certainly mid-write when killed.
        var fifo = Path.Combine(_dir, "layer.fifo");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) await mkfifo.WaitForExitAsync();
        var root = Path.Combine(_dir, "cache");
        var store = new LocalContentStore(root);

        using var writer = BuildfarmCliProcess.Start(new Dictionary<string, string>(), "cache", "put", "--cache", $"local:{root}", fifo);
        // A feeder process writes 8 MiB and then holds the FIFO open without writing more.
        using var feeder = System.Diagnostics.Process.Start("bash", ["-c", "exec 3>\"$0\"; head -c 8388608 /dev/urandom >&3; exec sleep 600", fifo]);
        try
        {
            var midWrite = await BuildfarmCliProcess.WaitUntilAsync(writer, () => Task.FromResult(
                Directory.Exists(store.IngestDirectory) && new DirectoryInfo(store.IngestDirectory).EnumerateFiles().Any(f => f.Length > 0)), TimeSpan.FromSeconds(60));
            Assert.True(midWrite, "the writer finished or failed before it could be killed");
            await BuildfarmCliProcess.KillAsync(writer);
        }
        finally
        {
            if (!writer.HasExited) writer.Kill();
            feeder.Kill(entireProcessTree: true);
            await feeder.WaitForExitAsync();
        }

        Assert.Empty(await store.ListAsync().ToListAsync());
        Assert.Equal(1, store.RemoveStaleIngest(TimeSpan.Zero));
    }

    [Fact]
    public async Task Concurrent_writer_processes_of_one_blob_leave_one_intact_blob()
    {
        Directory.CreateDirectory(_dir);
        var file = await BuildfarmCliProcess.WriteRandomFileAsync(Path.Combine(_dir, "layer.bin"), 24);
        var root = Path.Combine(_dir, "cache");
        var writers = Enumerable.Range(0, 6)
            .Select(_ => BuildfarmCliProcess.Start(new Dictionary<string, string>(), "cache", "put", "--cache", $"local:{root}", file))
            .ToList();
        var outputs = new List<string>();
        foreach (var w in writers)
        {
            outputs.Add((await w.StandardOutput.ReadToEndAsync()).Trim());
            await w.WaitForExitAsync();
            Assert.Equal(0, w.ExitCode);
            w.Dispose();
        }

        Digest expected;
        await using (var source = File.OpenRead(file)) expected = await Digest.ComputeAsync(source);
        Assert.All(outputs, o => Assert.Equal(expected.ToString(), o));
        var store = new LocalContentStore(root);
        Assert.Equal(expected, Assert.Single(await store.ListAsync().ToListAsync()).Digest);
        await using (var blob = await store.OpenAsync(expected)) await blob.CopyToAsync(Stream.Null); // verifies
        Assert.Empty(Directory.GetFiles(store.IngestDirectory));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }
}
