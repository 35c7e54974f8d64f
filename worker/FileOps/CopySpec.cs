namespace BuildFarm.Worker.FileOps;

/// <summary>One COPY/ADD file operation, resolved to folders: sources are read from <see cref="SourceRoot"/>
/// and written under <see cref="DestinationRoot"/>.</summary>
public sealed record CopySpec
{
    public required string SourceRoot { get; init; }
    /// <summary>True for the build context: symlinks leaving it are refused and files are owned by 0:0.
    /// False for another stage's filesystem: its symlinks are scoped to it and ownership is kept.</summary>
    public bool SourceIsContext { get; init; } = true;
    public required IReadOnlyList<string> Sources { get; init; }
    public required string DestinationRoot { get; init; }
    /// <summary>Absolute in the image; a trailing '/' means "a directory".</summary>
    public required string Destination { get; init; }
    /// <summary>Resolved --chown owner, or null.</summary>
    public (int Uid, int Gid)? Owner { get; init; }
    /// <summary>--chmod (octal or symbolic), or null.</summary>
    public ChmodSpec? Mode { get; init; }
    public IReadOnlyList<string> Excludes { get; init; } = [];
    public bool Parents { get; init; }
    /// <summary>ADD: unpack local tar archives (plain, gzip, bzip2, xz, zstd) into the destination.</summary>
    public bool ExtractArchives { get; init; }
}
