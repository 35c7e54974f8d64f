using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Oci.Layout;

/// <summary>
/// An OCI image layout directory: <c>oci-layout</c>, <c>index.json</c> and <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>.
/// Blobs are written through a temp file and renamed into place once their digest is verified.
/// </summary>
public sealed class OciLayout
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    public const string LayoutFileName = "oci-layout";
    public const string IndexFileName = "index.json";

    private OciLayout(string root) => Root = root;

    public string Root { get; }

    /// <summary>Opens a layout directory, creating an empty layout if the directory has none.</summary>
    public static async Task<OciLayout> OpenOrCreateAsync(string root, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.Combine(root, "blobs", Digest.Sha256Algorithm));
        var layout = new OciLayout(Path.GetFullPath(root));
        if (!File.Exists(Path.Combine(root, LayoutFileName)))
            await File.WriteAllBytesAsync(Path.Combine(root, LayoutFileName), OciJson.Serialize(ImageLayoutHeader.Current), cancellationToken);
        else
            await layout.CheckHeaderAsync(cancellationToken);
        if (!File.Exists(Path.Combine(root, IndexFileName)))
            await layout.WriteIndexAsync(new ImageIndex { Manifests = [] }, cancellationToken);
        return layout;
    }

    /// <summary>Opens an existing layout; a directory without a valid <c>oci-layout</c> is an error.</summary>
    public static async Task<OciLayout> OpenAsync(string root, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path.Combine(root, LayoutFileName)))
            throw new InvalidOciDocumentException($"'{root}' is not an OCI image layout: it has no {LayoutFileName} file");
        var layout = new OciLayout(Path.GetFullPath(root));
        await layout.CheckHeaderAsync(cancellationToken);
        return layout;
    }

    private async Task CheckHeaderAsync(CancellationToken cancellationToken)
    {
        var header = OciJson.Deserialize<ImageLayoutHeader>(await File.ReadAllBytesAsync(Path.Combine(Root, LayoutFileName), cancellationToken));
        if (header.ImageLayoutVersion != ImageLayoutHeader.CurrentVersion)
            throw new InvalidOciDocumentException($"'{Root}' has imageLayoutVersion '{header.ImageLayoutVersion}'; only {ImageLayoutHeader.CurrentVersion} is supported");
    }

    public string BlobPath(Digest digest) => Path.Combine(Root, "blobs", digest.Algorithm, digest.Hex);

    public bool HasBlob(Digest digest) => File.Exists(BlobPath(digest));

    /// <summary>Writes a blob; when <paramref name="expected"/> is given, its digest and size must match.</summary>
    public async Task<Descriptor> WriteBlobAsync(Stream content, string mediaType, Descriptor? expected = null, CancellationToken cancellationToken = default)
    {
        var temp = Path.Combine(Root, "blobs", $".tmp-{Guid.NewGuid():N}");
        try
        {
            Digest digest;
            long size;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
            await using (var hashing = new HashingWriteStream(file))
            {
                await content.CopyToAsync(hashing, 128 * 1024, cancellationToken);
                digest = hashing.Digest;
                size = hashing.BytesWritten;
            }
            if (expected is not null && (expected.Digest != digest.ToString() || expected.Size != size))
                throw new BlobDigestMismatchException(expected.ParsedDigest, digest, expected.Size, size);
            var target = BlobPath(digest);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(temp, target, overwrite: true);
            return new Descriptor { MediaType = mediaType, Digest = digest.ToString(), Size = size };
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Task<Descriptor> WriteBlobAsync(byte[] content, string mediaType, CancellationToken cancellationToken = default) =>
        WriteBlobAsync(new MemoryStream(content, writable: false), mediaType, null, cancellationToken);

    /// <summary>Opens a blob for reading; the stream fails at its end if the bytes do not match the digest.</summary>
    public Stream OpenBlob(Descriptor descriptor)
    {
        var digest = descriptor.ParsedDigest;
        var path = BlobPath(digest);
        if (!File.Exists(path))
            throw new BlobNotFoundException(digest, $"blob {digest} is not in the layout at '{Root}'");
        return new VerifyingReadStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0), digest, descriptor.Size);
    }

    public async Task<byte[]> ReadBlobAsync(Descriptor descriptor, CancellationToken cancellationToken = default)
    {
        await using var stream = OpenBlob(descriptor);
        using var ms = new MemoryStream();
        await stream.CopyToAsync(ms, cancellationToken);
        return ms.ToArray();
    }

    public async Task<ImageIndex> ReadIndexAsync(CancellationToken cancellationToken = default) =>
        ImageIndex.Parse(await File.ReadAllBytesAsync(Path.Combine(Root, IndexFileName), cancellationToken));

    public async Task WriteIndexAsync(ImageIndex index, CancellationToken cancellationToken = default)
    {
        var temp = Path.Combine(Root, $".{IndexFileName}.tmp");
        await File.WriteAllBytesAsync(temp, index.ToJson(), cancellationToken);
        File.Move(temp, Path.Combine(Root, IndexFileName), overwrite: true);
    }

    /// <summary>Stores a manifest (or index) document and lists it in index.json, replacing any entry with the same ref name.</summary>
    public async Task<Descriptor> AddManifestAsync(ManifestDocument document, string? refName = null, Platform? platform = null, CancellationToken cancellationToken = default)
    {
        await WriteBlobAsync(new MemoryStream(document.Bytes, writable: false), document.MediaType, null, cancellationToken);
        var descriptor = document.ToDescriptor(platform) with
        {
            Annotations = refName is null ? null : new SortedDictionary<string, string>(StringComparer.Ordinal) { [RefNameAnnotation] = refName },
        };
        var index = await ReadIndexAsync(cancellationToken);
        var kept = index.Manifests.Where(m => refName is null
            ? m.Digest != descriptor.Digest
            : m.Annotations?.GetValueOrDefault(RefNameAnnotation) != refName).ToList();
        kept.Add(descriptor);
        await WriteIndexAsync(index with { Manifests = kept }, cancellationToken);
        return descriptor;
    }

    /// <summary>The index.json entry with the given ref name, or the only entry when no name is given.</summary>
    public async Task<Descriptor> ResolveAsync(string? refName = null, CancellationToken cancellationToken = default)
    {
        var index = await ReadIndexAsync(cancellationToken);
        if (refName is null)
        {
            return index.Manifests.Count == 1
                ? index.Manifests[0]
                : throw new InvalidOciDocumentException($"layout '{Root}' has {index.Manifests.Count} images; name one by its ref name");
        }
        return index.Manifests.FirstOrDefault(m => m.Annotations?.GetValueOrDefault(RefNameAnnotation) == refName)
            ?? throw new InvalidOciDocumentException($"layout '{Root}' has no image named '{refName}'");
    }

    public async Task<ManifestDocument> ReadManifestAsync(Descriptor descriptor, CancellationToken cancellationToken = default) =>
        new(descriptor.MediaType, await ReadBlobAsync(descriptor, cancellationToken));

    /// <summary>Writes the layout as a deterministic tar (fixed times, root ownership, sorted).</summary>
    public async Task WriteTarAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        var entries = DirectoryLayerSource.Read(Root, WhiteoutTranslation.None, cancellationToken)
            .Where(e => !Path.GetFileName(e.Path).StartsWith('.'))
            .Select(e => e with { Xattrs = null, Mode = e.Type == LayerEntryType.Directory ? 0b111_101_101 : 0b110_100_100 });
        var writer = new LayerTarWriter(new LayerWriterOptions { Uid = 0, Gid = 0, UserName = "", GroupName = "", FixedModificationTime = DateTimeOffset.UnixEpoch, IncludeXattrs = false });
        await writer.WriteAsync(entries, destination, cancellationToken);
    }

    /// <summary>Unpacks a layout tar (as written by <see cref="WriteTarAsync"/> or <c>skopeo copy oci-archive:</c>) and opens it.</summary>
    public static async Task<OciLayout> ExtractTarAsync(Stream tar, string root, CancellationToken cancellationToken = default)
    {
        await new LayerApplier(new LayerApplyOptions { PreserveOwnership = false, ApplyXattrs = false }).ApplyAsync(tar, root, cancellationToken);
        return await OpenAsync(root, cancellationToken);
    }
}
