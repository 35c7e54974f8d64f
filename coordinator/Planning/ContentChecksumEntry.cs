namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// One selected source file of a COPY/ADD: path relative to the source, content digest (files), Unix mode,
/// link target (symlinks), and owner only where it matters (it does not for context files, which COPY writes as 0:0
/// unless --chown says otherwise). No times.
/// </summary>
public sealed record ContentChecksumEntry(string Path, int Mode, string? Sha256 = null, string? LinkTarget = null, int? Uid = null, int? Gid = null);
