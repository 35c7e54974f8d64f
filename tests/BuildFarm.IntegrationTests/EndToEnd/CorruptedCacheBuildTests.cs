using System.Text.Json;
using BuildFarm.Oci;
using BuildFarm.Oci.Layers;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Fault injection (issue 17, item 2) through <c>buildfarm build</c>: bytes changed in the cache behind the
/// farm's back give a rebuilt, valid image or one clear line — never an image whose diff ids lie, never a stack trace.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CorruptedCacheBuildTests(BusyboxFixture busybox) : IDisposable
{
    private const string Dockerfile = "FROM scratch\nADD rootfs.tar /\nRUN echo corrupt-me > /made\n";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string CacheFolder => Path.Combine(_scratch.Home, "cache");

    /// <summary>The stored record of the RUN step (the only record whose inputs name the command).</summary>
    private string RunRecordPath() =>
        Directory.EnumerateFiles(CacheFolder, "*.json", SearchOption.AllDirectories)
            .Where(p => p.Contains("/records/", StringComparison.Ordinal))
            .Single(p => File.ReadAllText(p).Contains("corrupt-me", StringComparison.Ordinal));

    private static string Flip(string hex) => (hex[0] == '0' ? '1' : '0') + hex[1..];

    [Fact]
    public async Task Flipped_diff_id_in_a_record_reruns_the_step_and_gives_an_image_whose_diff_ids_match_its_layers()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        var first = await _scratch.Cli.BuildAsync(context);
        Assert.True(first.ExitCode == 0, first.ToString());
        var recordPath = RunRecordPath();
        using (var record = JsonDocument.Parse(File.ReadAllText(recordPath)))
        {
            var diffId = record.RootElement.GetProperty("diffId").GetString()!;
            File.WriteAllText(recordPath, File.ReadAllText(recordPath).Replace(diffId[7..], Flip(diffId[7..]), StringComparison.Ordinal));
        }

        var oci = Path.Combine(_scratch.Root, "image.oci.tar");
        var second = await _scratch.Cli.BuildAsync("-t", "corrupt:1", "--output", $"type=oci,dest={oci}", context);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotMatch(@"RUN echo corrupt-me > /made\n#\d+ CACHED", second.Stdout + second.Stderr);
        Assert.Contains("corrupt-me", File.ReadAllText(RunRecordPath())); // the re-run wrote a good record back
        var layout = Path.Combine(_scratch.Root, "layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", oci, "-C", layout);
        await AssertDiffIdsMatchLayersAsync(layout);
        var bundle = Path.Combine(_scratch.Root, "bundle");
        await BuildFarmCli.ToolAsync("umoci", "unpack", "--image", $"{layout}:1", bundle);
        Assert.Equal("corrupt-me\n", File.ReadAllText(Path.Combine(bundle, "rootfs", "made")));
    }

    /// <summary>Decompresses every layer of the layout's image and compares its digest with the config's diff id.</summary>
    private static async Task AssertDiffIdsMatchLayersAsync(string layout)
    {
        string Blob(string digest) => Path.Combine(layout, "blobs", "sha256", digest[7..]);
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
        using var manifest = JsonDocument.Parse(File.ReadAllText(Blob(index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString()!)));
        using var config = JsonDocument.Parse(File.ReadAllText(Blob(manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!)));
        var diffIds = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(e => e.GetString()!).ToList();
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(layers.Count, diffIds.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            await using var blob = File.OpenRead(Blob(layers[i].GetProperty("digest").GetString()!));
            await using var tar = LayerCompressor.OpenDecompressed(blob, layers[i].GetProperty("mediaType").GetString()!);
            using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            int n;
            while ((n = await tar.ReadAsync(buffer)) > 0) hash.AppendData(buffer, 0, n);
            Assert.Equal(diffIds[i], Digest.FromSha256Bytes(hash.GetHashAndReset()).ToString());
        }
    }

    [Fact]
    public async Task Flipped_byte_in_a_cached_layer_blob_reruns_the_step_instead_of_an_unhandled_exception()
    {
        var context = _scratch.Context("ctx", Dockerfile);
        var first = await _scratch.Cli.BuildAsync(context);
        Assert.True(first.ExitCode == 0, first.ToString());
        using (var record = JsonDocument.Parse(File.ReadAllText(RunRecordPath())))
        {
            var blob = Directory.EnumerateFiles(CacheFolder, record.RootElement.GetProperty("layer").GetProperty("digest").GetString()![7..],
                SearchOption.AllDirectories).Single();
            var bytes = File.ReadAllBytes(blob);
            bytes[bytes.Length / 2] ^= 0x01;
            File.WriteAllBytes(blob, bytes);
        }

        var oci = Path.Combine(_scratch.Root, "image.oci.tar");
        var second = await _scratch.Cli.BuildAsync("--output", $"type=oci,dest={oci}", context);

        var all = second.Stdout + second.Stderr;
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.DoesNotContain("Unhandled exception", all);
        Assert.Contains("is corrupted", all);
        Assert.Matches(@"RUN echo corrupt-me > /made\n#\d+ cache miss", all);
        var layout = Path.Combine(_scratch.Root, "layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", oci, "-C", layout);
        await AssertDiffIdsMatchLayersAsync(layout);
    }
}
