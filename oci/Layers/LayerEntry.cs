namespace BuildFarm.Oci.Layers;

/// <summary>
/// One entry of a layer tar. <see cref="Path"/> is relative to the image root, '/'-separated, without a
/// leading "./" or "/" and without a trailing '/'. Whiteouts are ordinary regular files named <c>.wh.*</c>.
/// </summary>
public sealed record LayerEntry
{
    public required string Path { get; init; }
    public required LayerEntryType Type { get; init; }

    /// <summary>Permission bits including setuid/setgid/sticky (the low 12 bits).</summary>
    public int Mode { get; init; }

    public int Uid { get; init; }
    public int Gid { get; init; }
    public string UserName { get; init; } = "";
    public string GroupName { get; init; } = "";
    public DateTimeOffset ModificationTime { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Symlink target (as written), or for a hard link the layer path of the entry it links to.</summary>
    public string? LinkTarget { get; init; }

    public long DeviceMajor { get; init; }
    public long DeviceMinor { get; init; }

    /// <summary>Size of a regular file's content; zero for every other type.</summary>
    public long Size { get; init; }

    /// <summary>Opens the content of a regular file; it must yield exactly <see cref="Size"/> bytes.</summary>
    public Func<Stream>? OpenContent { get; init; }

    /// <summary>Extended attributes, written as PAX <c>SCHILY.xattr.*</c> records.</summary>
    public IReadOnlyDictionary<string, byte[]>? Xattrs { get; init; }

    public static LayerEntry Directory(string path, int mode = 0b111_101_101) =>
        new() { Path = path, Type = LayerEntryType.Directory, Mode = mode };

    public static LayerEntry File(string path, byte[] content, int mode = 0b110_100_100) =>
        new() { Path = path, Type = LayerEntryType.RegularFile, Mode = mode, Size = content.Length, OpenContent = () => new MemoryStream(content, writable: false) };

    public static LayerEntry Symlink(string path, string target) =>
        new() { Path = path, Type = LayerEntryType.Symlink, Mode = 0b111_111_111, LinkTarget = target };

    public static LayerEntry HardLink(string path, string target) =>
        new() { Path = path, Type = LayerEntryType.HardLink, Mode = 0b110_100_100, LinkTarget = target };

    /// <summary>An OCI whiteout that deletes <paramref name="path"/> from lower layers.</summary>
    public static LayerEntry Whiteout(string path) =>
        File(Whiteouts.WhiteoutPathFor(path), [], 0);

    /// <summary>An OCI opaque marker: lower layers' children of <paramref name="directory"/> are hidden.</summary>
    public static LayerEntry OpaqueMarker(string directory) =>
        File(Whiteouts.OpaqueMarkerPathFor(directory), [], 0);
}
