using System.Diagnostics;
using System.IO.Compression;
using BuildFarm.Oci;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Tests.Oci;

public class LayerCompressorTests
{
    private static LayerEntry[] SampleEntries() =>
    [
        LayerEntry.Directory("data"),
        LayerEntry.File("data/random", RandomBytes(300_000)),
        LayerEntry.File("data/text", System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("compressible ", 10_000)))),
    ];

    private static byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        new Random(42).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task A_destination_that_fails_fails_the_layer_with_its_own_error()
    {
        // compression writes on a task of its own: its failure must reach the caller, not leave the tar writer waiting
        var entries = Enumerable.Range(0, 200).Select(i => LayerEntry.File($"f{i:000}", RandomBytes(50_000))).ToArray();

        var failure = await Assert.ThrowsAsync<IOException>(() =>
            LayerCompressor.CompressEntriesAsync(entries, new FailingStream(), LayerCompression.Gzip).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("disk full", failure.Message);
    }

    [Fact]
    public async Task A_tar_writer_that_fails_fails_the_layer_with_its_error()
    {
        using var blob = new MemoryStream();
        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => LayerCompressor.CompressAsync(async (tar, ct) =>
        {
            await tar.WriteAsync(RandomBytes(1_000_000), ct);
            throw new InvalidDataException("file changed while the layer was written");
        }, blob, LayerCompression.Gzip).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("file changed while the layer was written", failure.Message);
    }

    private sealed class FailingStream : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("disk full");
        public override void Write(ReadOnlySpan<byte> buffer) => throw new IOException("disk full");
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new IOException("disk full");
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            throw new IOException("disk full");
    }

    [Fact]
    public async Task The_gzip_blob_of_many_small_files_does_not_depend_on_how_the_tar_reached_the_compressor()
    {
        var entries = Enumerable.Range(0, 2_000)
            .Select(i => LayerEntry.File($"d{i / 100:000}/f{i:00000}.txt", System.Text.Encoding.UTF8.GetBytes(new string((char)('a' + i % 26), 1 + i % 700))))
            .ToArray();
        var tar = await new LayerTarWriter().WriteToArrayAsync(entries);
        using var whole = new MemoryStream();
        await using (var gzip = new GZipStream(whole, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(tar); // one write: the reference the batched small writes must equal
            gzip.Flush();    // as the compressor flushes the tar before its trailer
        }

        using var blob = new MemoryStream();
        var layer = await LayerCompressor.CompressEntriesAsync(entries, blob, LayerCompression.Gzip);

        Assert.Equal(Digest.Compute(whole.ToArray()), layer.Digest);
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, MediaTypes.OciLayerGzip)]
    [InlineData(LayerCompression.Zstd, MediaTypes.OciLayerZstd)]
    [InlineData(LayerCompression.None, MediaTypes.OciLayer)]
    public async Task One_pass_gives_the_blob_digest_and_the_diff_id_of_the_tar(LayerCompression compression, string mediaType)
    {
        var entries = SampleEntries();
        var tar = await new LayerTarWriter().WriteToArrayAsync(entries);
        using var blob = new MemoryStream();
        var layer = await LayerCompressor.CompressEntriesAsync(entries, blob, compression);

        Assert.Equal(mediaType, layer.Descriptor.MediaType);
        Assert.Equal(Digest.Compute(blob.ToArray()), layer.Digest);
        Assert.Equal(blob.Length, layer.Size);
        Assert.Equal(Digest.Compute(tar), layer.DiffId);
        Assert.Equal(tar.Length, layer.UncompressedSize);

        blob.Position = 0;
        using var decompressed = new MemoryStream();
        await using (var s = LayerCompressor.OpenDecompressed(blob, mediaType)) await s.CopyToAsync(decompressed);
        Assert.Equal(tar, decompressed.ToArray());
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, "gzip")]
    [InlineData(LayerCompression.Zstd, "zstd")]
    public async Task Command_line_tools_decompress_our_blobs_to_the_same_tar(LayerCompression compression, string tool)
    {
        using var dir = new TempDirectory();
        var blobPath = dir.Combine("blob");
        CompressedLayer layer;
        await using (var file = File.Create(blobPath))
            layer = await LayerCompressor.CompressEntriesAsync(SampleEntries(), file, compression);
        var psi = new ProcessStartInfo(tool, ["-d", "-c", blobPath]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var digest = Digest.ComputeAsync(process.StandardOutput.BaseStream);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{tool} -d failed: {await stderr}");
        Assert.Equal(layer.DiffId, await digest);
    }

    [Fact]
    public async Task Gzip_header_carries_no_timestamp_so_blobs_are_reproducible()
    {
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        await LayerCompressor.CompressEntriesAsync(SampleEntries(), a, LayerCompression.Gzip);
        await Task.Delay(1100);
        await LayerCompressor.CompressEntriesAsync(SampleEntries(), b, LayerCompression.Gzip);
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.Equal([0, 0, 0, 0], a.ToArray()[4..8]);
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 8, 0 }, LayerCompression.Gzip)]
    [InlineData(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }, LayerCompression.Zstd)]
    [InlineData(new byte[] { (byte)'e', (byte)'t', (byte)'c', 0 }, LayerCompression.None)]
    public async Task Compression_is_detected_from_magic_bytes(byte[] head, LayerCompression expected)
    {
        using var ms = new MemoryStream([.. head, 0, 0, 0]);
        Assert.Equal(expected, await LayerCompressor.DetectAsync(ms));
        Assert.Equal(0, ms.Position);
    }

    [Fact]
    public void Unknown_layer_media_type_is_named_in_the_error()
    {
        var e = Assert.Throws<NotSupportedException>(() => LayerCompressor.CompressionOf("application/x-foo"));
        Assert.Contains("application/x-foo", e.Message);
    }
}
