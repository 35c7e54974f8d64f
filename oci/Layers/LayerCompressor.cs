using System.IO.Compression;
using ZstdSharp;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Compresses a layer tar in one pass: the tar is written through a hasher (diff id) into the compressor,
/// whose output goes through a second hasher (blob digest) into the destination. Nothing is read twice.
/// </summary>
public static class LayerCompressor
{
    public const int DefaultZstdLevel = 3;

    public static string MediaTypeFor(LayerCompression compression) => compression switch
    {
        LayerCompression.None => MediaTypes.OciLayer,
        LayerCompression.Gzip => MediaTypes.OciLayerGzip,
        LayerCompression.Zstd => MediaTypes.OciLayerZstd,
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown layer compression"),
    };

    /// <summary>The compression a layer media type implies (OCI and Docker types, including non-distributable ones).</summary>
    public static LayerCompression CompressionOf(string mediaType) => mediaType switch
    {
        MediaTypes.OciLayer or MediaTypes.OciLayerNonDistributable or MediaTypes.DockerLayer => LayerCompression.None,
        MediaTypes.OciLayerGzip or MediaTypes.OciLayerNonDistributableGzip or MediaTypes.DockerLayerGzip
            or MediaTypes.DockerForeignLayerGzip => LayerCompression.Gzip,
        MediaTypes.OciLayerZstd or MediaTypes.OciLayerNonDistributableZstd or MediaTypes.DockerLayerZstd => LayerCompression.Zstd,
        _ => throw new NotSupportedException($"'{mediaType}' is not a known layer media type"),
    };

    /// <summary>
    /// Runs <paramref name="writeTar"/> against a stream that hashes and compresses into <paramref name="destination"/>.
    /// </summary>
    public static async Task<CompressedLayer> CompressAsync(
        Func<Stream, CancellationToken, Task> writeTar,
        Stream destination,
        LayerCompression compression,
        CancellationToken cancellationToken = default,
        CompressionLevel gzipLevel = CompressionLevel.Optimal,
        int zstdLevel = DefaultZstdLevel)
    {
        await using var blobHasher = new HashingWriteStream(destination);
        long uncompressedSize;
        Digest diffId;
        {
            await using var compressor = OpenCompressor(blobHasher, compression, gzipLevel, zstdLevel);
            await using var tarHasher = new HashingWriteStream(compressor);
            // The diff id's hash, compression and the blob's hash run on a task of their own, beside the tar writer
            // (its walk and file reads); the writes arrive in large chunks (a tar of many small files is three small
            // writes a file: header, content, padding).
            await using (var behind = new WriteBehindStream(tarHasher, cancellationToken))
            {
                await writeTar(behind, cancellationToken);
                await behind.CompleteAsync(cancellationToken);
            }
            await tarHasher.FlushAsync(cancellationToken);
            uncompressedSize = tarHasher.BytesWritten;
            diffId = tarHasher.Digest;
        } // disposing the compressor writes its trailer into blobHasher
        await blobHasher.FlushAsync(cancellationToken);
        var descriptor = new Descriptor
        {
            MediaType = MediaTypeFor(compression),
            Digest = blobHasher.Digest.ToString(),
            Size = blobHasher.BytesWritten,
        };
        return new CompressedLayer(descriptor, diffId, uncompressedSize);
    }

    /// <summary>Reads <paramref name="directory"/>, writes its deterministic layer tar, compresses it into <paramref name="destination"/>.</summary>
    public static async Task<CompressedLayer> CompressDirectoryAsync(
        string directory,
        Stream destination,
        LayerCompression compression,
        WhiteoutTranslation whiteouts = WhiteoutTranslation.None,
        LayerWriterOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var entries = DirectoryLayerSource.Read(directory, whiteouts, cancellationToken);
        // the walk already knows the size of the tree: a snapshot store keeping the folder needs no second walk
        var fileBytes = entries.Where(e => e.Type == LayerEntryType.RegularFile).Sum(e => e.Size);
        var layer = await CompressEntriesAsync(entries, destination, compression, options, cancellationToken);
        return layer with { RegularFileBytes = fileBytes };
    }

    /// <summary>Writes the entries as a deterministic layer tar and compresses it into <paramref name="destination"/>.</summary>
    public static Task<CompressedLayer> CompressEntriesAsync(
        IEnumerable<LayerEntry> entries,
        Stream destination,
        LayerCompression compression,
        LayerWriterOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var writer = new LayerTarWriter(options);
        return CompressAsync((tar, ct) => writer.WriteAsync(entries, tar, ct), destination, compression, cancellationToken);
    }

    /// <summary>A stream that decompresses a layer blob of the given media type into its tar.</summary>
    public static Stream OpenDecompressed(Stream blob, string mediaType) => OpenDecompressed(blob, CompressionOf(mediaType));

    public static Stream OpenDecompressed(Stream blob, LayerCompression compression) => compression switch
    {
        LayerCompression.None => blob,
        LayerCompression.Gzip => new GZipStream(blob, CompressionMode.Decompress, leaveOpen: false),
        LayerCompression.Zstd => new DecompressionStream(blob, leaveOpen: false),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown layer compression"),
    };

    /// <summary>Sniffs gzip/zstd magic bytes (for blobs whose media type is not trustworthy, e.g. Docker archives).</summary>
    public static async Task<LayerCompression> DetectAsync(Stream seekableBlob, CancellationToken cancellationToken = default)
    {
        var start = seekableBlob.Position;
        var magic = new byte[4];
        var n = await seekableBlob.ReadAtLeastAsync(magic, 4, throwOnEndOfStream: false, cancellationToken);
        seekableBlob.Position = start;
        if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return LayerCompression.Gzip;
        if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return LayerCompression.Zstd;
        return LayerCompression.None;
    }

    private static Stream OpenCompressor(Stream output, LayerCompression compression, CompressionLevel gzipLevel, int zstdLevel) => compression switch
    {
        LayerCompression.None => new HashingWriteStream(output), // pass-through; keeps disposal from closing output
        LayerCompression.Gzip => new GZipStream(output, gzipLevel, leaveOpen: true),
        LayerCompression.Zstd => new CompressionStream(output, zstdLevel, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown layer compression"),
    };
}
