namespace BuildFarm.Cache.Context;

/// <summary>
/// One entry of a build context as it travels through the content store. <see cref="Mode"/> is the Unix st_mode
/// (type bits and permissions); <see cref="Digest"/> ("sha256:…") is the blob of a regular file's content, null
/// otherwise; <see cref="LinkTarget"/> is a symlink's target as stored (never followed). The mtime is kept because
/// COPY keeps it in the layer (as BuildKit does); cache keys never read it.
/// </summary>
public sealed record ContextManifestEntry(
    string Path, int Mode, long Size, string? Digest, string? LinkTarget, int Uid, int Gid, long MtimeSeconds, int MtimeNanoseconds)
{
    public const int TypeMask = 0xF000;      // S_IFMT
    public const int TypeRegular = 0x8000;   // S_IFREG
    public const int TypeDirectory = 0x4000; // S_IFDIR
    public const int TypeSymlink = 0xA000;   // S_IFLNK

    public int Type => Mode & TypeMask;
    public int Permissions => Mode & 0xFFF;
    public bool IsDirectory => Type == TypeDirectory;
    public bool IsRegularFile => Type == TypeRegular;
    public bool IsSymlink => Type == TypeSymlink;
}
