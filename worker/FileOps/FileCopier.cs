using BuildFarm.Oci.Native;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.FileOps;

/// <summary>
/// COPY/ADD as a file operation, following the Dockerfile reference: wildcards (Go filepath.Match per component),
/// a directory source copies its contents, a destination ending in '/' (or an existing directory) receives files by
/// name, several sources need a '/' destination, --parents keeps source paths (pivot with <c>/./</c>).
/// Destination paths resolve inside the image (its symlinks scoped to its root, as BuildKit does); every write then
/// goes through a <see cref="ConfinedRoot"/> directory, so nothing is ever written through a symlink or outside the root.
/// </summary>
public sealed class FileCopier(ArchiveExtractor archives)
{
    public async Task CopyAsync(CopySpec spec, CancellationToken cancellationToken)
    {
        try
        {
            await CopyCoreAsync(spec, cancellationToken);
        }
        catch (UnsafePathException e)
        {
            // A user error (a hostile archive or destination), reported as one: the message names the entry.
            throw new CopyException(e.Message, e);
        }
    }

    private async Task CopyCoreAsync(CopySpec spec, CancellationToken cancellationToken)
    {
        if (spec.Sources.Count == 0) throw new CopyException("no source files were specified");
        if (spec.Sources.Count > 1 && !spec.Destination.EndsWith('/'))
            throw new CopyException($"When using COPY with more than one source file, the destination must be a directory and end with a / (destination {spec.Destination})");

        var matches = new List<SourceMatch>();
        foreach (var source in spec.Sources)
        {
            var found = Expand(spec, source);
            // BuildKit (AllowEmptyWildcard) skips a wildcard that matches nothing, even when it is the only source;
            // a plain path that is missing stays an error.
            if (found.Count == 0 && !PathPattern.HasWildcards(source))
                throw new CopyException($"'{source}': not found in {spec.SourceRoot}");
            matches.AddRange(found);
        }
        if (matches.Count == 0) return; // only empty wildcards: BuildKit creates nothing, not even the destination

        using var destinationRoot = ConfinedRoot.Open(spec.DestinationRoot);
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
                using var target = EnsureDirectory(spec, destinationRoot, targetDir);
                await CopyTreeAsync(spec, destinationRoot, physical, target, "", spec.SourceIsContext, cancellationToken);
                continue;
            }

            if (spec.ExtractArchives && await ArchiveExtractor.IsArchiveAsync(physical, cancellationToken))
            {
                using var targetDir = EnsureDirectory(spec, destinationRoot, Combine(destination, spec.Parents ? ParentOf(keep) : ""));
                var temp = Directory.CreateTempSubdirectory("bf-add-").FullName;
                try
                {
                    await archives.ExtractAsync(physical, temp, cancellationToken);
                    // BuildKit (dockerd 26.1's, the conformance golden) keeps the owners the archive records: --chown
                    // applies to the destination directory it creates, not to what the archive holds
                    await CopyTreeAsync(spec with { Owner = null }, destinationRoot, temp, targetDir, "", sourceIsContext: false, cancellationToken);
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
            else if (LinuxNative.LStat(RootedPath.ResolveScoped(spec.DestinationRoot, destination, followFinal: false)) is { IsSymlink: true })
                // BuildKit writes through a destination that is a symlink (to a file, or dangling): the link stays and
                // its target, scoped to the image's root, receives the file.
                targetPath = "/" + RelativeToRoot(spec, RootedPath.ResolveScoped(spec.DestinationRoot, destination), destination);
            else
                targetPath = destination;

            if (IsExcluded(spec, name)) continue;
            using var parent = EnsureDirectory(spec, destinationRoot, ParentOf(targetPath));
            var targetName = Path.GetFileName(targetPath);
            if (parent.Stat(targetName) is { Type: FileStatus.Directory })
                throw new CopyException($"cannot copy file {match.Path} onto directory {targetPath}");
            EntryCopier.CopyInto(physical, stat, parent, targetName, MetadataFor(spec, stat, spec.SourceIsContext));
        }
    }

    /// <summary>Copies a tree in three passes: a sorted walk that makes the directories, symlinks and devices, removes
    /// what the copy replaces and lists the files; then the files' content, owner, mode and times by a few threads (a
    /// COPY of many small files is a syscall-bound loop); then the hard links and, deepest first, the directories'
    /// times (their children moved them). The result is the tree a one-thread copy makes: same entries, same metadata,
    /// files hard-linked to each other in the source stay hard-linked (the first in walk order holds the content).</summary>
    private Task CopyTreeAsync(CopySpec spec, ConfinedRoot root, string sourceDir, ConfinedDirectory targetDir, string relative, bool sourceIsContext,
        CancellationToken cancellationToken)
    {
        var plan = new TreePlan();
        Plan(spec, sourceDir, targetDir, relative, sourceIsContext, targetEmpty: false, plan, cancellationToken);
        CopyFiles(root, plan.Files, cancellationToken);
        foreach (var link in plan.Links)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var slash = link.First.LastIndexOf('/');
            using var firstParent = root.OpenDirectory(slash < 0 ? "" : link.First[..slash], create: false, link.Relative);
            using var parent = root.OpenDirectory(link.Directory, create: false, link.Relative);
            parent.CreateHardLink(link.Name, firstParent, link.First[(slash + 1)..]);
        }
        for (var i = plan.Directories.Count - 1; i >= 0; i--)
        {
            var (directory, name, metadata, entry) = plan.Directories[i];
            using var parent = root.OpenDirectory(directory, create: false, entry);
            parent.SetTimes(name, metadata.MtimeSeconds, metadata.MtimeNanoseconds);
        }
        return Task.CompletedTask;
    }

    /// <summary>The sorted walk of <see cref="CopyTreeAsync"/>. <paramref name="targetEmpty"/>: the target directory was
    /// created by this copy, so no entry in it needs looking up first.</summary>
    private static void Plan(CopySpec spec, string sourceDir, ConfinedDirectory targetDir, string relative, bool sourceIsContext,
        bool targetEmpty, TreePlan plan, CancellationToken cancellationToken)
    {
        foreach (var source in Directory.EnumerateFileSystemEntries(sourceDir).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileName(source);
            var rel = relative.Length == 0 ? name : relative + "/" + name;
            if (IsExcluded(spec, rel)) continue;
            var stat = LinuxNative.LStat(source)!.Value;
            var metadata = MetadataFor(spec, stat, sourceIsContext);
            if (stat.IsRegularFile && stat.Links > 1)
            {
                var inode = (stat.DevMajor, stat.DevMinor, stat.Inode);
                if (plan.FirstOfInode.TryGetValue(inode, out var first))
                {
                    targetDir.Remove(name);
                    plan.Links.Add(new PlannedLink(targetDir.RelativePath, name, first, rel));
                    continue;
                }
                plan.FirstOfInode[inode] = targetDir.RelativePath.Length == 0 ? name : targetDir.RelativePath + "/" + name;
            }
            if (stat.IsRegularFile)
            {
                plan.Files.Add(new PlannedFile(targetDir.RelativePath, name, source, stat, metadata, targetEmpty, rel));
                continue;
            }
            var created = targetEmpty || (stat.IsDirectory && targetDir.Stat(name) is null);
            EntryCopier.CopyInto(source, stat, targetDir, name, metadata, targetAbsent: targetEmpty);
            if (stat.IsDirectory)
            {
                using (var sub = targetDir.OpenChild(name, rel))
                    Plan(spec, source, sub, rel, sourceIsContext, created, plan, cancellationToken);
                plan.Directories.Add((targetDir.RelativePath, name, metadata, rel));
            }
        }
    }

    /// <summary>Threads that copy files at once: the copy is mostly kernel work on separate files (different directories
    /// mostly), and on a busy machine each thread also gets its own share of the CPU.</summary>
    private static readonly int CopyThreads = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>At most this many files per batch; a batch never spans two directories, so two threads seldom create
    /// files in one directory at once (creation in a directory is serialized on its lock).</summary>
    private const int FilesPerBatch = 256;

    private static void CopyFiles(ConfinedRoot root, List<PlannedFile> files, CancellationToken cancellationToken)
    {
        var batches = new List<(int From, int To)>();
        for (var from = 0; from < files.Count;)
        {
            var to = from + 1;
            while (to < files.Count && to - from < FilesPerBatch && files[to].Directory == files[from].Directory) to++;
            batches.Add((from, to));
            from = to;
        }
        if (batches.Count < 2 || CopyThreads == 1)
        {
            CopyBatch(root, files, 0, files.Count, cancellationToken);
            return;
        }
        try
        {
            Parallel.For(0, batches.Count, new ParallelOptions { MaxDegreeOfParallelism = CopyThreads, CancellationToken = cancellationToken },
                b => CopyBatch(root, files, batches[b].From, batches[b].To, cancellationToken));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // the first failure as a one-thread copy would throw it (a CopyException, an IOException naming the entry)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    private static void CopyBatch(ConfinedRoot root, List<PlannedFile> files, int from, int to, CancellationToken cancellationToken)
    {
        ConfinedDirectory? parent = null;
        try
        {
            for (var i = from; i < to; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var file = files[i];
                if (parent is null || parent.RelativePath != file.Directory)
                {
                    parent?.Dispose();
                    parent = null;
                    parent = root.OpenDirectory(file.Directory, create: false, file.Relative);
                }
                EntryCopier.CopyInto(file.Source, file.Stat, parent, file.Name, file.Metadata, targetAbsent: file.TargetAbsent);
            }
        }
        finally
        {
            parent?.Dispose();
        }
    }

    private sealed class TreePlan
    {
        public List<PlannedFile> Files { get; } = [];
        public List<PlannedLink> Links { get; } = [];
        /// <summary>Directories in walk order (parents first): parent's path relative to the root, name, metadata, entry.</summary>
        public List<(string Directory, string Name, EntryMetadata Metadata, string Relative)> Directories { get; } = [];
        /// <summary>A source inode's first target, relative to the destination root.</summary>
        public Dictionary<(uint, uint, ulong), string> FirstOfInode { get; } = [];
    }

    private sealed record PlannedFile(string Directory, string Name, string Source, FileStat Stat, EntryMetadata Metadata, bool TargetAbsent, string Relative);

    private sealed record PlannedLink(string Directory, string Name, string First, string Relative);

    private static bool IsExcluded(CopySpec spec, string relative) =>
        spec.Excludes.Any(p => PathPattern.MatchExclude(p, relative));

    private static EntryMetadata MetadataFor(CopySpec spec, FileStat stat, bool sourceIsContext)
    {
        var (uid, gid) = spec.Owner ?? (sourceIsContext ? (0, 0) : (stat.Uid, stat.Gid));
        var mode = spec.Mode is { } m && !stat.IsSymlink ? m.Apply(stat.Permissions, stat.IsDirectory) : stat.Permissions;
        return new EntryMetadata(uid, gid, mode, stat.MtimeSeconds, stat.MtimeNanoseconds);
    }

    /// <summary>Creates <paramref name="logical"/> (and missing parents) in the destination; returns it opened beneath
    /// the root, each made 0755 and owned by the --chown owner (root by default)</summary>
    private static ConfinedDirectory EnsureDirectory(CopySpec spec, ConfinedRoot root, string logical)
    {
        var parts = logical.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        for (var i = 0; i < parts.Length; i++)
        {
            current = Combine(current, parts[i]);
            // Where the image's own symlinks lead, scoped to its root; the write below re-checks it without following any.
            var physical = RootedPath.ResolveScoped(spec.DestinationRoot, current);
            var stat = LinuxNative.LStat(physical);
            if (stat is { IsDirectory: true }) continue;
            if (stat is not null)
                throw new CopyException($"cannot copy to {logical}: {current} exists in the image and is not a directory");
            var relative = RelativeToRoot(spec, physical, logical);
            var slash = relative.LastIndexOf('/');
            // A symlink in the image may lead to a path whose parents do not exist yet: made 0755, as mkdir -p would.
            using var parent = root.OpenDirectory(slash < 0 ? "" : relative[..slash], create: true, logical);
            var name = relative[(slash + 1)..];
            parent.CreateDirectory(name);
            // Every directory the copy creates, the destination of a directory source included, is made fresh:
            // 0755 and root:root unless --chown, whatever the source directory's mode and owner (BuildKit does
            // not carry them over; --chmod applies to the copied entries, not to the directory it creates).
            var (uid, gid) = spec.Owner ?? (0, 0);
            parent.SetOwner(name, uid, gid);
            parent.SetMode(name, 0b111_101_101);
        }
        return root.OpenDirectory(RelativeToRoot(spec, RootedPath.ResolveScoped(spec.DestinationRoot, logical), logical), create: false, logical);
    }

    private static string RelativeToRoot(CopySpec spec, string physical, string logical)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(spec.DestinationRoot), physical);
        if (relative == ".") return "";
        if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            throw new UnsafePathException(logical, $"{logical}: resolves outside the destination root");
        return relative;
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
