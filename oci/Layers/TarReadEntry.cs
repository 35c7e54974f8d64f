namespace BuildFarm.Oci.Layers;

/// <summary>One entry as read from a tar, PAX and GNU extensions applied. <see cref="Data"/> is valid until the next read.</summary>
internal sealed class TarReadEntry
{
    public required string Name { get; init; }
    public required byte TypeFlag { get; init; }
    public int Mode { get; init; }
    public int Uid { get; init; }
    public int Gid { get; init; }
    public string UserName { get; init; } = "";
    public string GroupName { get; init; } = "";
    public long ModificationSeconds { get; init; }
    public long ModificationNanoseconds { get; init; }
    public string LinkName { get; init; } = "";
    public long DeviceMajor { get; init; }
    public long DeviceMinor { get; init; }
    public long Size { get; init; }

    /// <summary>SCHILY.xattr.* values, byte-exact (binary values such as security.capability survive).</summary>
    public IReadOnlyDictionary<string, byte[]> Xattrs { get; init; } = new Dictionary<string, byte[]>();

    public required Stream Data { get; init; }

    public LayerEntryType? Type => TypeFlag switch
    {
        (byte)'0' or 0 or (byte)'7' => Name.EndsWith('/') && TypeFlag == 0 ? LayerEntryType.Directory : LayerEntryType.RegularFile,
        (byte)'1' => LayerEntryType.HardLink,
        (byte)'2' => LayerEntryType.Symlink,
        (byte)'3' => LayerEntryType.CharacterDevice,
        (byte)'4' => LayerEntryType.BlockDevice,
        (byte)'5' => LayerEntryType.Directory,
        (byte)'6' => LayerEntryType.Fifo,
        _ => null,
    };
}
