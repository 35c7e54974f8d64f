using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.FileOps;

/// <summary>
/// COPY/ADD as a file operation, following the Dockerfile reference: wildcards (Go filepath.Match per component),
/// a directory source copies its contents, a destination ending in '/' (or an existing directory) receives files by
/// name, several sources need a '/' destination, --parents keeps source paths (pivot with <c>/./</c>).
/// </summary>
public sealed class FileCopier(ArchiveExtractor archives)
{
    public async Task CopyAsync(CopySpec spec, CancellationToken cancellationToken)
    {
        if (spec.Sources.Count == 0) throw new CopyException("no source files were specified");
        if (spec.Sources.Count > 1 && !spec.Destination.EndsWith('/'))
            throw new CopyException($"When using COPY with more than one source file, the destination must be a directory and end with a / (destination {spec.Destination})");

        var matches = new List<SourceMatch>();
        foreach (var source in spec.Sources)
        {
            var found = Expand(spec, source);
            if (found.Count == 0)
                throw new CopyException(PathPattern.HasWildcards(source)
                    ? $"no source files were specified: '{source}' matches nothing in {spec.SourceRoot}"
                    : $"'{source}': not found in {spec.SourceRoot}");
            matches.AddRange(found);
        }

        var destinationIsDirectory = spec.Destination.EndsWith('/') || matches.Count > 1 || spec.Parents;
        var destination = "/" + spec.Destination.Trim('/');
        foreach (var match in matches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var physical = Resolve(spec, match.Path);
            var stat = LinuxNative.LStat(physical)
                ?? throw new CopyException($"'{match.Path}': not found in {spec.SourceRoot}");
            var keep = spec.Parents ? match.Kept : "";

            if (stat.IsDirectory)
            {
                var targetDir = Combine(destination, keep);
                var target = EnsureDirectory(spec, targetDir, stat);
                await CopyTreeAsync(spec, physical, target, "", spec.SourceIsContext, cancellationToken);
                continue;
            }

            if (spec.ExtractArchives && await ArchiveExtractor.IsArchiveAsync(physical, cancellationToken))
            {
                var targetDir = EnsureDirectory(spec, Combine(destination, spec.Parents ? ParentOf(keep) : ""), null);
                var temp = Directory.CreateTempSubdirectory("bf-add-").FullName;
                try
                {
                    await archives.ExtractAsync(physical, temp, cancellationToken);
                    await CopyTreeAsync(spec, temp, targetDir, "", sourceIsContext: false, cancellationToken);
                }
                finally { TreeRemover.Remove(temp); }
                continue;
            }

            string targetPath;
            var name = Path.GetFileName(match.Path.TrimEnd('/'));
            if (destinationIsDirectory)
                targetPath = Combine(Combine(destination, spec.Parents ? ParentOf(keep) : ""), name);
            else if (LinuxNative.LStat(RootedPath.ResolveScoped(spec.DestinationRoot, destination)) is { IsDirectory: true })
                targetPath = Combine(destination, name);
            else
                targetPath = destination;

            if (IsExcluded(spec, name)) continue;
            var parent = EnsureDirectory(spec, ParentOf(targetPath), null);
            var physicalTarget = Path.Combine(parent, Path.GetFileName(targetPath));
            if (LinuxNative.LStat(physicalTarget) is { IsDirectory: true })
                throw new CopyException($"cannot copy file {match.Path} onto directory {targetPath}");
            EntryCopier.Copy(physical, stat, physicalTarget, MetadataFor(spec, stat, spec.SourceIsContext));
        }
    }

    private Task CopyTreeAsync(CopySpec spec, string sourceDir, string targetDir, string relative, bool sourceIsContext, CancellationToken cancellationToken) =>
        CopyTreeAsync(spec, sourceDir, targetDir, relative, sourceIsContext, targetEmpty: false,
            new Dictionary<(uint, uint, ulong), string>(), cancellationToken);

    /// <summary>Copies a tree; files hard-linked to each other in the source stay hard-linked (<paramref name="linked"/>
    /// maps a source inode to the first target path written for it). <paramref name="targetEmpty"/>: the target
    /// directory was created by this copy, so no entry in it needs looking up first.</summary>
    private async Task CopyTreeAsync(CopySpec spec, string sourceDir, string targetDir, string relative, bool sourceIsContext,
        bool targetEmpty, Dictionary<(uint, uint, ulong), string> linked, CancellationToken cancellationToken)
    {
        foreach (var source in Directory.EnumerateFileSystemEntries(sourceDir).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(source);
            var rel = relative.Length == 0 ? name : relative + "/" + name;
            if (IsExcluded(spec, rel)) continue;
            var stat = LinuxNative.LStat(source)!.Value;
            var target = Path.Combine(targetDir, name);
            var metadata = MetadataFor(spec, stat, sourceIsContext);
            if (stat.IsRegularFile && stat.Links > 1)
            {
                var inode = (stat.DevMajor, stat.DevMinor, stat.Inode);
                if (linked.TryGetValue(inode, out var first))
                {
                    TreeRemover.Remove(target);
                    LinuxNative.HardLinkOrThrow(first, target);
                    continue;
                }
                linked[inode] = target;
            }
            var created = targetEmpty || (stat.IsDirectory && LinuxNative.LStat(target) is null);
            EntryCopier.Copy(source, stat, target, metadata, targetAbsent: targetEmpty);
            if (stat.IsDirectory)
            {
                await CopyTreeAsync(spec, source, target, rel, sourceIsContext, created, linked, cancellationToken);
                LinuxNative.SetTimesNoFollow(target, metadata.MtimeSeconds, metadata.MtimeNanoseconds); // children moved it
            }
        }
    }

    private static bool IsExcluded(CopySpec spec, string relative) =>
        spec.Excludes.Any(p => PathPattern.MatchExclude(p, relative));

    private static EntryMetadata MetadataFor(CopySpec spec, FileStat stat, bool sourceIsContext)
    {
        var (uid, gid) = spec.Owner ?? (sourceIsContext ? (0, 0) : (stat.Uid, stat.Gid));
        var mode = spec.Mode is { } m && !stat.IsSymlink ? m : stat.Permissions;
        return new EntryMetadata(uid, gid, mode, stat.MtimeSeconds, stat.MtimeNanoseconds);
    }

    /// <summary>Creates <paramref name="logical"/> (and missing parents) in the destination; returns its real path.
    /// Missing parents get the copy's owner and 0755; a created final directory takes <paramref name="like"/>'s
    /// mode and mtime when given.</summary>
    private static string EnsureDirectory(CopySpec spec, string logical, FileStat? like)
    {
        var parts = logical.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        var physical = RootedPath.ResolveScoped(spec.DestinationRoot, "/");
        for (var i = 0; i < parts.Length; i++)
        {
            current = Combine(current, parts[i]);
            physical = RootedPath.ResolveScoped(spec.DestinationRoot, current);
            var stat = LinuxNative.LStat(physical);
            if (stat is { IsDirectory: true }) continue;
            if (stat is not null)
                throw new CopyException($"cannot copy to {logical}: {current} exists in the image and is not a directory");
            Directory.CreateDirectory(physical);
            var (uid, gid) = spec.Owner ?? (0, 0);
            var isLast = i == parts.Length - 1;
            if (isLast && like is { } l)
            {
                var metadata = MetadataFor(spec, l, spec.SourceIsContext);
                EntryCopier.Apply(physical, false, metadata);
            }
            else
            {
                LinuxNative.LchownOrThrow(physical, uid, gid);
                LinuxNative.ChmodOrThrow(physical, 0b111_101_101);
            }
        }
        return physical;
    }

    private static string Resolve(CopySpec spec, string path) => spec.SourceIsContext
        ? RootedPath.ResolveStrict(spec.SourceRoot, path)
        : RootedPath.ResolveScoped(spec.SourceRoot, path);

    /// <summary>Expands one source into matches: logical paths relative to the source root, plus what --parents keeps.</summary>
    private static List<SourceMatch> Expand(CopySpec spec, string source)
    {
        var pivot = source.IndexOf("/./", StringComparison.Ordinal);
        var prefix = pivot >= 0 ? Clean(source[..pivot]) : "";
        var clean = Clean(source);
        if (!PathPattern.HasWildcards(clean))
        {
            if (LinuxNative.LStat(Resolve(spec, clean)) is null) return [];
            return [new SourceMatch(clean, KeptPart(clean, prefix))];
        }

        var results = new List<string> { "" };
        foreach (var part in clean.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = new List<string>();
            foreach (var dir in results)
            {
                if (!PathPattern.HasWildcards(part))
                {
                    var candidate = dir.Length == 0 ? part : dir + "/" + part;
                    if (LinuxNative.LStat(Resolve(spec, candidate)) is not null) next.Add(candidate);
                    continue;
                }
                var physical = Resolve(spec, dir.Length == 0 ? "/" : dir);
                if (!Directory.Exists(physical)) continue;
                next.AddRange(Directory.EnumerateFileSystemEntries(physical)
                    .Select(Path.GetFileName).OfType<string>()
                    .Where(n => PathPattern.MatchComponent(part, n))
                    .Order(StringComparer.Ordinal)
                    .Select(n => dir.Length == 0 ? n : dir + "/" + n));
            }
            results = next;
        }
        return results.Select(r => new SourceMatch(r, KeptPart(r, prefix))).ToList();
    }

    private static string KeptPart(string path, string prefix) =>
        prefix.Length > 0 && path.StartsWith(prefix + "/", StringComparison.Ordinal) ? path[(prefix.Length + 1)..] : path;

    /// <summary>A COPY source as a clean relative path ('.' dropped, '..' applied lexically); ContextSelector uses it too.</summary>
    internal static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (var p in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    private static string Combine(string a, string b) =>
        b.Length == 0 ? a : a.TrimEnd('/') + "/" + b.TrimStart('/');

    private static string ParentOf(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? (trimmed.StartsWith('/') ? "/" : "") : trimmed[..slash];
    }

    private sealed record SourceMatch(string Path, string Kept);
}
