using System.ComponentModel;
using System.Diagnostics;
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
    public async Task<Digest> ApplyBlobAsync(Stream blob, string mediaType, string root, CancellationToken cancellationToken = default) =>
        await ApplyBlobAsync(blob, mediaType, root, stats: null, cancellationToken);

    /// <summary>As <see cref="ApplyBlobAsync(Stream, string, string, CancellationToken)"/>, noting where the time went in <paramref name="stats"/>.</summary>
    public async Task<Digest> ApplyBlobAsync(Stream blob, string mediaType, string root, LayerApplyStats? stats, CancellationToken cancellationToken = default)
    {
        // Decompression and the diff id's hash run on another task beside the extraction, streamed (no temp copy). The
        // decompressors read 8 KiB at a time: a 1 MiB buffer below them turns thousands of small reads of the blob (each
        // an async hand-off when the blob is a file or a download) into a few large ones.
        var buffered = new BufferedStream(blob, ReadAheadStream.ChunkSize);
        await using var tar = new ReadAheadStream(LayerCompressor.OpenDecompressed(buffered, mediaType), cancellationToken, stats);
        await ApplyTarAsync(tar, root, stats, cancellationToken);
        return await tar.Digest;
    }

    /// <summary>Applies an uncompressed layer tar onto <paramref name="root"/> (created if missing); returns its diff id.</summary>
    public async Task<Digest> ApplyAsync(Stream tar, string root, CancellationToken cancellationToken = default)
    {
        await using var hashing = new HashingReadStream(tar, leaveOpen: true);
        await ApplyTarAsync(hashing, root, stats: null, cancellationToken);
        return hashing.Digest;
    }

    /// <summary>Applies an uncompressed layer tar and reads the stream to its end (padding past the tar's end too).</summary>
    private async Task ApplyTarAsync(Stream tar, string root, LayerApplyStats? stats, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(root);
        root = Path.GetFullPath(root).TrimEnd('/');
        using var confined = ConfinedRoot.Open(root);
        var layer = new LayerApplyState(root, confined, stats);
        var reader = new TarStreamReader(tar);
        while (await reader.NextAsync(cancellationToken) is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (stats is not null) stats.Entries++;
            await ApplyEntryAsync(entry, layer, cancellationToken);
        }
        await reader.DrainAsync(cancellationToken);
        // Directory times last, deepest first, so creating children does not disturb them.
        for (var i = layer.DirectoryTimes.Count - 1; i >= 0; i--)
        {
            var (components, seconds, nanoseconds) = layer.DirectoryTimes[i];
            if (components.Count == 0)
            {
                Posix.SetTimes(root, seconds, nanoseconds);
                continue;
            }
            using var parent = confined.OpenDirectory(components[..^1], create: false, string.Join('/', components));
            // A later entry of the same layer may have replaced the directory: nothing left to date.
            if (parent?.Stat(components[^1]) is { Type: FileStatus.Directory }) parent.SetTimes(components[^1], seconds, nanoseconds);
        }
    }

    private async Task ApplyEntryAsync(TarReadEntry entry, LayerApplyState layer, CancellationToken cancellationToken)
    {
        var components = CleanName(_options.AbsoluteNamesRelativeToRoot ? entry.Name.TrimStart('/') : entry.Name);
        if (components.Count == 0) // the root itself ("./"): only its metadata can change
        {
            if (entry.Type == LayerEntryType.Directory) ApplyRootMetadata(layer.Root, entry, layer);
            return;
        }
        var name = components[^1];
        // A flat whiteout under a directory nobody made has nothing to delete, and must not make that directory.
        var isWhiteout = _options.HonorWhiteouts && name.StartsWith(Whiteouts.Prefix, StringComparison.Ordinal);
        var flatWhiteout = isWhiteout && _options.Whiteouts == WhiteoutTranslation.None;
        var resolved = ResolveDirectory(layer, components.GetRange(0, components.Count - 1), entry.Name, create: !flatWhiteout);
        if (resolved is null) return;
        // Opened without following any symlink: a swap behind our back is refused, never written through.
        using var parent = layer.Confined.OpenDirectory(resolved, create: !flatWhiteout, entry.Name);
        if (parent is null) return;
        var target = Relative(resolved, name);

        if (isWhiteout && name == Whiteouts.OpaqueMarkerName)
        {
            if (_options.Whiteouts == WhiteoutTranslation.Overlay)
                parent.SetOwnXattr(Whiteouts.OverlayOpaqueXattr, "y"u8);
            else
            {
                layer.ForgetResolutions();
                DeleteUntouchedChildren(parent, layer);
            }
            return;
        }
        if (isWhiteout)
        {
            var hiddenName = name[Whiteouts.Prefix.Length..];
            if (hiddenName.Length == 0 || hiddenName is "." or "..")
                throw new UnsafeLayerPathException(entry.Name, $"layer entry '{entry.Name}' is a whiteout of nothing");
            var hidden = Relative(resolved, hiddenName);
            layer.Replacing(hidden);
            if (_options.Whiteouts == WhiteoutTranslation.Overlay)
            {
                parent.Remove(hiddenName);
                parent.MakeNode(hiddenName, FileStatus.CharDevice, 0, 0);
                layer.Touched.Add(hidden);
            }
            else if (!layer.Touched.Contains(hidden))
            {
                parent.Remove(hiddenName);
            }
            return;
        }

        layer.Touched.Add(target);
        if (entry.Type != LayerEntryType.Directory) layer.Replacing(target);
        switch (entry.Type)
        {
            case LayerEntryType.Directory:
                if (parent.Stat(name) is not { Type: FileStatus.Directory })
                {
                    layer.Replacing(target);
                    parent.Remove(name);
                    parent.CreateDirectory(name);
                }
                ApplyMetadata(parent, name, resolved, entry, layer, isDirectory: true);
                return;
            case LayerEntryType.RegularFile:
                using (var file = parent.CreateFile(name, 0b110_000_000, replace: true))
                    await WriteContentAsync(entry.Data, file, layer, cancellationToken);
                break;
            case LayerEntryType.Symlink:
                parent.Remove(name);
                parent.CreateSymlink(name, entry.LinkName);
                break;
            case LayerEntryType.HardLink:
                var linkComponents = CleanName(_options.AbsoluteNamesRelativeToRoot ? entry.LinkName.TrimStart('/') : entry.LinkName);
                if (linkComponents.Count == 0)
                    throw new UnsafeLayerPathException(entry.Name, $"hard link '{entry.Name}' points at the root");
                var linkResolved = ResolveDirectory(layer, linkComponents.GetRange(0, linkComponents.Count - 1), entry.LinkName, create: false);
                using (var linkParent = linkResolved is null ? null : layer.Confined.OpenDirectory(linkResolved, create: false, entry.Name))
                {
                    if (linkParent?.Stat(linkComponents[^1]) is null)
                        throw new InvalidDataException($"hard link '{entry.Name}' points at '{entry.LinkName}', which does not exist");
                    parent.Remove(name);
                    parent.CreateHardLink(name, linkParent, linkComponents[^1]);
                }
                return; // a hard link shares its target's metadata
            case LayerEntryType.CharacterDevice or LayerEntryType.BlockDevice or LayerEntryType.Fifo:
                parent.Remove(name);
                var type = entry.Type switch
                {
                    LayerEntryType.CharacterDevice => FileStatus.CharDevice,
                    LayerEntryType.BlockDevice => FileStatus.BlockDevice,
                    _ => FileStatus.Fifo,
                };
                parent.MakeNode(name, type | 0b110_000_000, entry.DeviceMajor, entry.DeviceMinor);
                break;
            default:
                throw new InvalidDataException($"layer entry '{entry.Name}' has unsupported tar type '{(char)entry.TypeFlag}'");
        }
        ApplyMetadata(parent, name, resolved, entry, layer, isDirectory: false);
    }

    /// <summary>
    /// Copies an entry's data with synchronous writes: they land in the page cache in microseconds, while an awaited
    /// write of a FileStream on a plain descriptor is a thread-pool work item each (thousands per layer, and the pool's
    /// threads spin in sched_yield between them). Reads come from the read-ahead buffer, mostly without waiting.
    /// </summary>
    private static async Task WriteContentAsync(Stream data, FileStream file, LayerApplyState layer, CancellationToken cancellationToken)
    {
        var buffer = layer.CopyBuffer;
        var stats = layer.Stats;
        int n;
        while ((n = await data.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var started = Stopwatch.GetTimestamp();
            file.Write(buffer, 0, n);
            if (stats is null) continue;
            stats.WritingData += Stopwatch.GetElapsedTime(started);
            stats.FileBytes += n;
        }
        if (stats is not null) stats.Files++;
    }

    private void ApplyMetadata(ConfinedDirectory parent, string name, List<string> resolved, TarReadEntry entry, LayerApplyState layer, bool isDirectory)
    {
        var isSymlink = entry.Type == LayerEntryType.Symlink;
        if (_options.PreserveOwnership) parent.SetOwner(name, entry.Uid, entry.Gid);
        // chmod after chown: chown clears setuid/setgid bits.
        if (!isSymlink) parent.SetMode(name, (uint)entry.Mode & 0xFFF);
        if (_options.ApplyXattrs)
        {
            foreach (var (key, value) in entry.Xattrs)
            {
                try
                {
                    parent.SetXattr(name, key, value);
                }
                catch (Win32Exception e) when (e.NativeErrorCode == ENOTSUP)
                {
                    // The target file system has no such namespace (e.g. security.selinux); the container never saw it either.
                }
            }
        }
        if (isDirectory) layer.DirectoryTimes.Add(([.. resolved, name], entry.ModificationSeconds, entry.ModificationNanoseconds));
        else parent.SetTimes(name, entry.ModificationSeconds, entry.ModificationNanoseconds);
    }

    /// <summary>The root is the caller's own directory (trusted), so its metadata goes by path.</summary>
    private void ApplyRootMetadata(string root, TarReadEntry entry, LayerApplyState layer)
    {
        if (_options.PreserveOwnership) Posix.LChown(root, entry.Uid, entry.Gid);
        Posix.Chmod(root, (uint)entry.Mode & 0xFFF);
        if (_options.ApplyXattrs)
        {
            foreach (var (key, value) in entry.Xattrs)
            {
                try { Posix.SetXattr(root, key, value); }
                catch (Win32Exception e) when (e.NativeErrorCode == ENOTSUP) { }
            }
        }
        layer.DirectoryTimes.Add(([], entry.ModificationSeconds, entry.ModificationNanoseconds));
    }

    /// <summary>Lexically cleans a tar name into components; refuses absolute names and ".." above the root.</summary>
    private static List<string> CleanName(string name)
    {
        if (name.StartsWith('/'))
            throw new UnsafeLayerPathException(name, $"layer entry '{name}' has an absolute path");
        var result = new List<string>();
        foreach (var part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                if (result.Count == 0)
                    throw new UnsafeLayerPathException(name, $"layer entry '{name}' climbs out of the root with '..'");
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
    private static List<string>? ResolveDirectory(LayerApplyState layer, List<string> components, string entryName, bool create)
    {
        // A layer lists a directory's entries together: most entries resolve the same parent as the one before, and
        // each resolution is an lstat per component. Kept: resolutions that created what they needed (so their
        // ancestors are in Touched already), until an entry removes or replaces a path one of them walked through.
        var key = string.Join('/', components);
        if (layer.ResolvedDirectories.TryGetValue(key, out var known)) return known;
        var walked = create ? new List<string>() : null;
        var resolved = new List<string>();
        var pending = new LinkedList<string>(components);
        var hops = 0;
        var missing = false;
        while (pending.First is { } node)
        {
            var part = node.Value;
            pending.RemoveFirst();
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (resolved.Count == 0)
                    throw new UnsafeLayerPathException(entryName, $"layer entry '{entryName}' would be written through a symlink that points outside the root");
                resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            walked?.Add(Relative(resolved, part));
            // Reading what is there is safe by path; writing goes through ConfinedRoot, which re-checks every component.
            var host = HostPath(layer.Root, resolved, part);
            if (missing || !Posix.TryLStat(host, out var st))
            {
                if (!create) return null;
                missing = true; // ConfinedRoot.OpenDirectory creates it
                resolved.Add(part);
                layer.Touched.Add(Relative(resolved, null));
                continue;
            }
            switch (st.Type)
            {
                case FileStatus.Directory:
                    resolved.Add(part);
                    // Ancestors of what this layer writes survive an opaque marker met later in the same layer.
                    if (create) layer.Touched.Add(Relative(resolved, null));
                    break;
                case FileStatus.Symlink:
                    if (++hops > MaxSymlinkHops)
                        throw new InvalidDataException($"layer entry '{entryName}': too many symlinks at '{Relative(resolved, part)}'");
                    var target = new FileInfo(host).LinkTarget ?? "";
                    if (target.StartsWith('/')) resolved.Clear();
                    var parts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
                    for (var i = parts.Length - 1; i >= 0; i--) pending.AddFirst(parts[i]);
                    break;
                default:
                    throw new InvalidDataException($"layer entry '{entryName}': '{Relative(resolved, part)}' is not a directory");
            }
        }
        if (walked is not null) layer.RememberResolution(key, resolved, walked);
        return resolved;
    }

    private static string HostPath(string root, List<string> components, string? last)
    {
        var sb = new StringBuilder(root);
        foreach (var c in components) sb.Append('/').Append(c);
        if (last is not null) sb.Append('/').Append(last);
        return sb.ToString();
    }

    /// <summary>A path relative to the root: the key of <see cref="LayerApplyState.Touched"/>.</summary>
    private static string Relative(List<string> components, string? last)
    {
        var joined = string.Join('/', components);
        return last is null ? joined : joined.Length == 0 ? last : joined + "/" + last;
    }

    /// <summary>Opaque directory: everything lower layers put under it goes; what this layer wrote stays.</summary>
    private static void DeleteUntouchedChildren(ConfinedDirectory directory, LayerApplyState layer)
    {
        foreach (var child in directory.ChildNames())
        {
            var relative = directory.RelativePath.Length == 0 ? child : directory.RelativePath + "/" + child;
            if (!layer.Touched.Contains(relative))
                directory.Remove(child);
            else if (directory.Stat(child) is { Type: FileStatus.Directory })
            {
                using var sub = directory.OpenChild(child);
                DeleteUntouchedChildren(sub, layer);
            }
        }
    }
}
