using System.ComponentModel;
using System.Text;
using BuildFarm.Oci.Native;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Extracts layer tars onto a directory, one layer after another, honoring OCI whiteouts and refusing any entry
/// that would land outside the root: absolute names, ".." that climbs above the root, or a parent directory that
/// is a symlink climbing out of it. Absolute symlink targets are read as rooted at the extraction root, the way
/// the container will see them.
/// </summary>
public sealed class LayerApplier(LayerApplyOptions? options = null)
{
    private const int MaxSymlinkHops = 255;
    private const int ENOTSUP = 95;
    private readonly LayerApplyOptions _options = options ?? LayerApplyOptions.Default;

    /// <summary>Decompresses a layer blob of the given media type and applies it; returns its diff id.</summary>
    public async Task<Digest> ApplyBlobAsync(Stream blob, string mediaType, string root, CancellationToken cancellationToken = default)
    {
        await using var tar = LayerCompressor.OpenDecompressed(blob, mediaType);
        return await ApplyAsync(tar, root, cancellationToken);
    }

    /// <summary>Applies an uncompressed layer tar onto <paramref name="root"/> (created if missing); returns its diff id.</summary>
    public async Task<Digest> ApplyAsync(Stream tar, string root, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(root);
        root = Path.GetFullPath(root).TrimEnd('/');
        var layer = new LayerApplyState(root);
        await using var hashing = new HashingReadStream(tar, leaveOpen: true);
        var reader = new TarStreamReader(hashing);
        while (await reader.NextAsync(cancellationToken) is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await ApplyEntryAsync(entry, layer, cancellationToken);
        }
        await reader.DrainAsync(cancellationToken);
        // Directory times last, deepest first, so creating children does not disturb them.
        for (var i = layer.DirectoryTimes.Count - 1; i >= 0; i--)
        {
            var (path, seconds, nanoseconds) = layer.DirectoryTimes[i];
            Posix.SetTimes(path, seconds, nanoseconds);
        }
        return hashing.Digest;
    }

    private async Task ApplyEntryAsync(TarReadEntry entry, LayerApplyState layer, CancellationToken cancellationToken)
    {
        var components = CleanName(_options.AbsoluteNamesRelativeToRoot ? entry.Name.TrimStart('/') : entry.Name);
        if (components.Count == 0) // the root itself ("./"): only its metadata can change
        {
            if (entry.Type == LayerEntryType.Directory) ApplyMetadata(layer.Root, entry, layer, isDirectory: true);
            return;
        }
        var name = components[^1];
        // A flat whiteout under a directory nobody made has nothing to delete, and must not make that directory.
        var isWhiteout = _options.HonorWhiteouts && name.StartsWith(Whiteouts.Prefix, StringComparison.Ordinal);
        var flatWhiteout = isWhiteout && _options.Whiteouts == WhiteoutTranslation.None;
        var parent = ResolveDirectory(layer, components.GetRange(0, components.Count - 1), entry.Name, create: !flatWhiteout);
        if (parent is null) return;
        var target = Path.Combine(parent, name);

        if (isWhiteout && name == Whiteouts.OpaqueMarkerName)
        {
            if (_options.Whiteouts == WhiteoutTranslation.Overlay)
                Posix.SetXattr(parent, Whiteouts.OverlayOpaqueXattr, "y"u8);
            else
                DeleteUntouchedChildren(parent, layer);
            return;
        }
        if (isWhiteout)
        {
            var hidden = Path.Combine(parent, name[Whiteouts.Prefix.Length..]);
            if (name.Length == Whiteouts.Prefix.Length || name[Whiteouts.Prefix.Length..] is "." or "..")
                throw new UnsafeLayerPathException($"layer entry '{entry.Name}' is a whiteout of nothing");
            if (_options.Whiteouts == WhiteoutTranslation.Overlay)
            {
                RemoveExisting(hidden);
                Posix.MkNod(hidden, FileStatus.CharDevice, 0, 0);
                layer.Touched.Add(hidden);
            }
            else if (!layer.Touched.Contains(hidden))
            {
                RemoveExisting(hidden);
            }
            return;
        }

        layer.Touched.Add(target);
        switch (entry.Type)
        {
            case LayerEntryType.Directory:
                if (!Posix.TryLStat(target, out var existing) || existing.Type != FileStatus.Directory)
                {
                    RemoveExisting(target);
                    Directory.CreateDirectory(target);
                }
                ApplyMetadata(target, entry, layer, isDirectory: true);
                return;
            case LayerEntryType.RegularFile:
                RemoveExisting(target);
                await using (var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0))
                    await entry.Data.CopyToAsync(file, 128 * 1024, cancellationToken);
                break;
            case LayerEntryType.Symlink:
                RemoveExisting(target);
                File.CreateSymbolicLink(target, entry.LinkName);
                break;
            case LayerEntryType.HardLink:
                var linkComponents = CleanName(_options.AbsoluteNamesRelativeToRoot ? entry.LinkName.TrimStart('/') : entry.LinkName);
                if (linkComponents.Count == 0)
                    throw new UnsafeLayerPathException($"hard link '{entry.Name}' points at the root");
                var linkParent = ResolveDirectory(layer, linkComponents.GetRange(0, linkComponents.Count - 1), entry.LinkName, create: false);
                var linkTarget = linkParent is null ? null : Path.Combine(linkParent, linkComponents[^1]);
                if (linkTarget is null || !Posix.TryLStat(linkTarget, out _))
                    throw new InvalidDataException($"hard link '{entry.Name}' points at '{entry.LinkName}', which does not exist");
                RemoveExisting(target);
                Posix.Link(linkTarget, target);
                return; // a hard link shares its target's metadata
            case LayerEntryType.CharacterDevice or LayerEntryType.BlockDevice or LayerEntryType.Fifo:
                RemoveExisting(target);
                var type = entry.Type switch
                {
                    LayerEntryType.CharacterDevice => FileStatus.CharDevice,
                    LayerEntryType.BlockDevice => FileStatus.BlockDevice,
                    _ => FileStatus.Fifo,
                };
                Posix.MkNod(target, type | 0b110_000_000, entry.DeviceMajor, entry.DeviceMinor);
                break;
            default:
                throw new InvalidDataException($"layer entry '{entry.Name}' has unsupported tar type '{(char)entry.TypeFlag}'");
        }
        ApplyMetadata(target, entry, layer, isDirectory: false);
    }

    private void ApplyMetadata(string path, TarReadEntry entry, LayerApplyState layer, bool isDirectory)
    {
        var isSymlink = entry.Type == LayerEntryType.Symlink;
        if (_options.PreserveOwnership) Posix.LChown(path, entry.Uid, entry.Gid);
        // chmod after chown: chown clears setuid/setgid bits.
        if (!isSymlink) Posix.Chmod(path, (uint)entry.Mode & 0xFFF);
        if (_options.ApplyXattrs)
        {
            foreach (var (key, value) in entry.Xattrs)
            {
                try
                {
                    Posix.SetXattr(path, key, value);
                }
                catch (Win32Exception e) when (e.NativeErrorCode == ENOTSUP)
                {
                    // The target file system has no such namespace (e.g. security.selinux); the container never saw it either.
                }
            }
        }
        if (isDirectory) layer.DirectoryTimes.Add((path, entry.ModificationSeconds, entry.ModificationNanoseconds));
        else Posix.SetTimes(path, entry.ModificationSeconds, entry.ModificationNanoseconds);
    }

    /// <summary>Lexically cleans a tar name into components; refuses absolute names and ".." above the root.</summary>
    private static List<string> CleanName(string name)
    {
        if (name.StartsWith('/'))
            throw new UnsafeLayerPathException($"layer entry '{name}' has an absolute path");
        var result = new List<string>();
        foreach (var part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                if (result.Count == 0)
                    throw new UnsafeLayerPathException($"layer entry '{name}' climbs out of the root with '..'");
                result.RemoveAt(result.Count - 1);
                continue;
            }
            result.Add(part);
        }
        return result;
    }

    /// <summary>
    /// Finds the host directory for layer path components, following symlinks inside the root (absolute targets are
    /// rooted at the root) and refusing ones that climb out of it. Missing directories are created when asked,
    /// otherwise the answer is null.
    /// </summary>
    private static string? ResolveDirectory(LayerApplyState layer, List<string> components, string entryName, bool create)
    {
        var resolved = new List<string>();
        var pending = new LinkedList<string>(components);
        var hops = 0;
        while (pending.First is { } node)
        {
            var part = node.Value;
            pending.RemoveFirst();
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (resolved.Count == 0)
                    throw new UnsafeLayerPathException($"layer entry '{entryName}' would be written through a symlink that points outside the root");
                resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var host = HostPath(layer.Root, resolved, part);
            if (!Posix.TryLStat(host, out var st))
            {
                if (!create) return null;
                Directory.CreateDirectory(host);
                resolved.Add(part);
                layer.Touched.Add(host);
                continue;
            }
            switch (st.Type)
            {
                case FileStatus.Directory:
                    resolved.Add(part);
                    // Ancestors of what this layer writes survive an opaque marker met later in the same layer.
                    if (create) layer.Touched.Add(host);
                    break;
                case FileStatus.Symlink:
                    if (++hops > MaxSymlinkHops)
                        throw new InvalidDataException($"layer entry '{entryName}': too many symlinks at '{host}'");
                    var target = new FileInfo(host).LinkTarget ?? "";
                    if (target.StartsWith('/')) resolved.Clear();
                    var parts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
                    for (var i = parts.Length - 1; i >= 0; i--) pending.AddFirst(parts[i]);
                    break;
                default:
                    throw new InvalidDataException($"layer entry '{entryName}': '{host}' is not a directory");
            }
        }
        return HostPath(layer.Root, resolved, null);
    }

    private static string HostPath(string root, List<string> components, string? last)
    {
        var sb = new StringBuilder(root);
        foreach (var c in components) sb.Append('/').Append(c);
        if (last is not null) sb.Append('/').Append(last);
        return sb.ToString();
    }

    private static void RemoveExisting(string path)
    {
        if (!Posix.TryLStat(path, out var st)) return;
        if (st.Type == FileStatus.Directory) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }

    /// <summary>Opaque directory: everything lower layers put under it goes; what this layer wrote stays.</summary>
    private static void DeleteUntouchedChildren(string directory, LayerApplyState layer)
    {
        foreach (var child in Directory.EnumerateFileSystemEntries(directory).ToList())
        {
            if (!layer.Touched.Contains(child))
                RemoveExisting(child);
            else if (Posix.LStat(child).Type == FileStatus.Directory)
                DeleteUntouchedChildren(child, layer);
        }
    }
}
