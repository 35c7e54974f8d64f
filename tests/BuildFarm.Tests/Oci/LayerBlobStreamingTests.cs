using System.Formats.Tar;
using System.IO.Compression;
using BuildFarm.Oci;
using BuildFarm.Oci.Layers;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Oci;

/// <summary>A compressed layer is decompressed and hashed on its own task beside the extraction: errors on either
/// side end the unpack with that error, never a hang.</summary>
public sealed class LayerBlobStreamingTests : IDisposable
{
    private const string Gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A gzip layer of <paramref name="files"/> 64 KiB files (several read-ahead chunks), and its tar's sha256.</summary>
    private static (byte[] Blob, Digest DiffId) Layer(int files, string firstName = "f0000")
    {
        var tar = new MemoryStream();
        using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            for (var i = 0; i < files; i++)
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, i == 0 ? firstName : $"f{i:D4}")
                    { DataStream = new MemoryStream(Enumerable.Range(0, 64 * 1024).Select(b => (byte)(b * 7 + i)).ToArray()) });
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tar.ToArray());
        return (gz.ToArray(), Digest.Compute(tar.ToArray()));
    }

    [Fact]
    public async Task Gzip_layer_larger_than_the_read_ahead_unpacks_with_its_diff_id()
    {
        var (blob, diffId) = Layer(files: 128); // 8 MiB of tar: twice what the read-ahead holds (4 chunks of 1 MiB)
        var root = _dir.Combine("root");

        var got = await new LayerApplier().ApplyBlobAsync(new MemoryStream(blob), Gzip, root);

        Assert.Equal(diffId, got);
        Assert.Equal(128, Directory.EnumerateFiles(root).Count());
    }

    [Fact]
    public async Task Truncated_gzip_layer_fails_with_the_decompressor_error()
    {
        var (blob, _) = Layer(files: 128);
        var truncated = new MemoryStream(blob[..(blob.Length / 2)]);

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            new LayerApplier().ApplyBlobAsync(truncated, Gzip, _dir.Combine("root")).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.IsNotType<TimeoutException>(error);
    }

    [Fact]
    public async Task Refused_entry_early_in_a_large_layer_stops_the_decompression_without_a_hang()
    {
        var (blob, _) = Layer(files: 128, firstName: "../escape");

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            new LayerApplier().ApplyBlobAsync(new MemoryStream(blob), Gzip, _dir.Combine("root")).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.IsNotType<TimeoutException>(error);
        Assert.Contains("escape", error.Message);
    }
}
