
namespace BuildFarm.Coordinator.Context;

/// <summary>
/// One entry of a build context. <see cref="Mode"/> is the Unix st_mode (type bits and permissions);
/// <see cref="Sha256"/> is "sha256:&lt;hex&gt;" of the content for files, null otherwise; <see cref="LinkTarget"/>
/// is the symlink's target as stored (never followed). No times: they must not influence anything.
/// </summary>
public sealed record ContextEntry(string Path, ContextEntryKind Kind, int Mode, long Size, string? Sha256, string? LinkTarget)
{
    public const int TypeRegular = 0x8000;   // S_IFREG
    public const int TypeDirectory = 0x4000; // S_IFDIR
    public const int TypeSymlink = 0xA000;   // S_IFLNK
}
