using System.Buffers;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Writes a deterministic layer tar: entries sorted by <see cref="LayerPathComparer"/>, ownership and times
/// normalized by <see cref="LayerWriterOptions"/>, ustar headers with PAX records only where ustar cannot say it.
/// The same entries and options always give the same bytes.
/// </summary>
public sealed class LayerTarWriter(LayerWriterOptions? options = null)
{
    private const int CopyBufferSize = 128 * 1024;
    private readonly LayerWriterOptions _options = options ?? LayerWriterOptions.Default;

    /// <summary>Writes all entries (in sorted order, whatever order they come in) and the end-of-archive marker.</summary>
    public async Task WriteAsync(IEnumerable<LayerEntry> entries, Stream destination, CancellationToken cancellationToken = default)
    {
        var sorted = new SortedDictionary<string, LayerEntry>(LayerPathComparer.Instance);
        foreach (var entry in entries)
        {
            var path = NormalizePath(entry.Path);
            if (!sorted.TryAdd(path, entry))
                throw new InvalidDataException($"layer entry '{path}' appears twice");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            foreach (var (path, entry) in sorted)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await WriteEntryAsync(path, entry, destination, buffer, cancellationToken);
            }
            await destination.WriteAsync(new byte[TarHeaderEncoder.BlockSize * 2], cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes entries that arrive as an async stream (they are collected first: a layer is written in sorted order).</summary>
    public async Task WriteAsync(IAsyncEnumerable<LayerEntry> entries, Stream destination, CancellationToken cancellationToken = default)
    {
        var collected = new List<LayerEntry>();
        await foreach (var entry in entries.WithCancellation(cancellationToken)) collected.Add(entry);
        await WriteAsync(collected, destination, cancellationToken);
    }

    /// <summary>Writes a layer of the given entries into a byte array (convenient for small layers and tests).</summary>
    public async Task<byte[]> WriteToArrayAsync(IEnumerable<LayerEntry> entries, CancellationToken cancellationToken = default)
    {
        using var ms = new MemoryStream();
        await WriteAsync(entries, ms, cancellationToken);
        return ms.ToArray();
    }

    private async Task WriteEntryAsync(string path, LayerEntry entry, Stream destination, byte[] buffer, CancellationToken cancellationToken)
    {
        var normalized = entry with
        {
            Uid = _options.Uid ?? entry.Uid,
            Gid = _options.Gid ?? entry.Gid,
            UserName = _options.UserName ?? entry.UserName,
            GroupName = _options.GroupName ?? entry.GroupName,
            LinkTarget = entry.Type == LayerEntryType.HardLink && entry.LinkTarget is not null
                ? NormalizePath(entry.LinkTarget)
                : entry.LinkTarget,
            Xattrs = _options.IncludeXattrs ? WithoutOverlayXattrs(entry.Xattrs) : null,
        };
        if (normalized.Type is LayerEntryType.Symlink or LayerEntryType.HardLink && string.IsNullOrEmpty(normalized.LinkTarget))
            throw new InvalidDataException($"layer entry '{path}' is a {normalized.Type} without a target");

        var name = normalized.Type == LayerEntryType.Directory ? path + "/" : path;
        var mtime = _options.NormalizeTime(entry.ModificationTime).ToUnixTimeSeconds();
        await destination.WriteAsync(TarHeaderEncoder.Encode(name, normalized, mtime), cancellationToken);

        if (normalized.Type != LayerEntryType.RegularFile || normalized.Size == 0) return;
        if (normalized.OpenContent is null)
            throw new InvalidDataException($"layer entry '{path}' has {normalized.Size} bytes but no content");

        await using var content = normalized.OpenContent();
        var remaining = normalized.Size;
        while (remaining > 0)
        {
            var read = await content.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken);
            if (read == 0)
                throw new InvalidDataException($"'{path}' ended {remaining} bytes short of its size {normalized.Size} (changed while the layer was written?)");
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            remaining -= read;
        }
        if (await content.ReadAsync(buffer.AsMemory(0, 1), cancellationToken) != 0)
            throw new InvalidDataException($"'{path}' is longer than its size {normalized.Size} (changed while the layer was written?)");
        var padding = TarHeaderEncoder.Padding(normalized.Size);
        if (padding > 0) await destination.WriteAsync(new byte[padding], cancellationToken);
    }

    private static IReadOnlyDictionary<string, byte[]>? WithoutOverlayXattrs(IReadOnlyDictionary<string, byte[]>? xattrs)
    {
        if (xattrs is null || xattrs.Count == 0) return null;
        var kept = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (key, value) in xattrs)
            if (!key.StartsWith(Whiteouts.OverlayXattrPrefix, StringComparison.Ordinal))
                kept[key] = value;
        return kept.Count == 0 ? null : kept;
    }

    /// <summary>Canonical layer path: no leading "/" or "./", no trailing "/", no empty, "." or ".." components.</summary>
    public static string NormalizePath(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(parts.Length);
        foreach (var part in parts)
        {
            if (part == ".") continue;
            if (part == "..")
                throw new InvalidDataException($"layer path '{path}' contains '..'");
            kept.Add(part);
        }
        if (kept.Count == 0)
            throw new InvalidDataException($"layer path '{path}' names the root; the root directory is not an entry");
        return string.Join('/', kept);
    }
}
