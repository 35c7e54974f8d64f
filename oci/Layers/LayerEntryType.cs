namespace BuildFarm.Oci.Layers;

/// <summary>The kinds of entries a layer tar can hold.</summary>
public enum LayerEntryType
{
    RegularFile,
    Directory,
    Symlink,
    HardLink,
    CharacterDevice,
    BlockDevice,
    Fifo,
}
