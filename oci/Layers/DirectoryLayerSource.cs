using BuildFarm.Oci.Native;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Reads a directory tree into layer entries, in sorted walk order: ownership, modes, device numbers,
/// xattrs, symlinks, and hard links (same inode seen again → a hard-link entry to its first path).
/// With <see cref="WhiteoutTranslation.Overlay"/> the directory is read as an overlayfs upperdir: a 0/0
/// character device becomes a <c>.wh.</c> whiteout and a <c>trusted.overlay.opaque=y</c> directory gets an
/// opaque marker.
/// </summary>
public static class DirectoryLayerSource
{
    public static IReadOnlyList<LayerEntry> Read(string root, WhiteoutTranslation whiteouts = WhiteoutTranslation.None, CancellationToken cancellationToken = default)
    {
        var rootStatus = Posix.LStat(root);
        if (rootStatus.Type != FileStatus.Directory)
            throw new DirectoryNotFoundException($"layer source '{root}' is not a directory");
        var entries = new List<LayerEntry>();
        var firstPathOfInode = new Dictionary<(ulong, ulong), string>();
        Walk(Path.GetFullPath(root), "", whiteouts, entries, firstPathOfInode, cancellationToken);
        return entries;
    }

    private static void Walk(string directory, string relative, WhiteoutTranslation whiteouts, List<LayerEntry> entries,
        Dictionary<(ulong, ulong), string> firstPathOfInode, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        foreach (var child in Directory.EnumerateFileSystemEntries(directory))
            names.Add(Path.GetFileName(child));
        names.Sort(StringComparer.Ordinal);

        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var full = Path.Combine(directory, name);
            var path = relative.Length == 0 ? name : $"{relative}/{name}";
            var st = Posix.LStat(full);
            var time = DateTimeOffset.FromUnixTimeSeconds(st.ModificationSeconds);

            if (whiteouts == WhiteoutTranslation.Overlay && st.Type == FileStatus.CharDevice && st.RawDeviceNumber == 0)
            {
                entries.Add(LayerEntry.Whiteout(path) with { ModificationTime = time });
                continue;
            }

            var xattrs = Posix.ListXattrs(full);
            var entry = new LayerEntry
            {
                Path = path,
                Type = LayerEntryType.RegularFile,
                Mode = (int)st.Permissions,
                Uid = (int)st.Uid,
                Gid = (int)st.Gid,
                ModificationTime = time,
                Xattrs = xattrs.Count == 0 ? null : xattrs,
            };

            switch (st.Type)
            {
                case FileStatus.Directory:
                    entries.Add(entry with { Type = LayerEntryType.Directory });
                    if (whiteouts == WhiteoutTranslation.Overlay
                        && xattrs.TryGetValue(Whiteouts.OverlayOpaqueXattr, out var opaque)
                        && opaque.AsSpan().SequenceEqual("y"u8))
                    {
                        entries.Add(LayerEntry.OpaqueMarker(path) with { ModificationTime = time });
                    }
                    Walk(full, path, whiteouts, entries, firstPathOfInode, cancellationToken);
                    continue;
                case FileStatus.Symlink:
                    entries.Add(entry with { Type = LayerEntryType.Symlink, LinkTarget = new FileInfo(full).LinkTarget });
                    continue;
                case FileStatus.Socket:
                    continue; // tar cannot carry sockets; they are recreated by whoever listens on them
            }

            if (st.LinkCount > 1 && !firstPathOfInode.TryAdd((st.Device, st.Inode), path))
            {
                entries.Add(entry with { Type = LayerEntryType.HardLink, LinkTarget = firstPathOfInode[(st.Device, st.Inode)] });
                continue;
            }

            entries.Add(st.Type switch
            {
                FileStatus.Regular => entry with
                {
                    Size = st.Size,
                    OpenContent = () => Posix.OpenReadNoFollow(full),
                },
                FileStatus.CharDevice => entry with { Type = LayerEntryType.CharacterDevice, DeviceMajor = st.DeviceMajor, DeviceMinor = st.DeviceMinor },
                FileStatus.BlockDevice => entry with { Type = LayerEntryType.BlockDevice, DeviceMajor = st.DeviceMajor, DeviceMinor = st.DeviceMinor },
                FileStatus.Fifo => entry with { Type = LayerEntryType.Fifo },
                _ => throw new InvalidDataException($"'{full}' has an unsupported file type (mode {st.Mode:o})"),
            });
        }
    }
}
