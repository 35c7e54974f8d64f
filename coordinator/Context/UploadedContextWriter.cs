using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;
using ManifestEntry = BuildFarm.Protos.V1.ContextEntry;

namespace BuildFarm.Coordinator.Context;

/// <summary>
/// Rebuilds a client's build context from its manifest and the content store, as root, from untrusted input: every
/// write goes through <see cref="ConfinedRoot"/> (no symlink is ever followed, nothing lands outside the root), and
/// only blobs the build uploaded or proved it holds are written. Any bad entry is a <see cref="ContextEntryException"/>
/// naming it.
/// </summary>
/// <param name="allowOpenat2">False forces the openat walk that stands in for openat2 on older kernels (tests).</param>
public sealed class UploadedContextWriter(IContentStore store, bool allowOpenat2 = true)
{
    private const uint TypeMask = 0xF000;
    private const uint TypeDirectory = 0x4000;
    private const uint TypeRegular = 0x8000;
    private const uint TypeSymlink = 0xA000;

    /// <summary>Writes the entries under <paramref name="root"/> (created, mode 0700: no other local user reaches into it).
    /// <paramref name="servable"/>: the digests this build may read.</summary>
    public async Task MaterializeAsync(IEnumerable<ManifestEntry> entries, string root, IReadOnlySet<string> servable,
        CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("a served build context is materialized on Linux only");
        Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var confined = ConfinedRoot.Open(root, allowOpenat2);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        // Sorted: a parent's own entry comes before its children.
        foreach (var entry in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await WriteAsync(confined, entry, seen, servable, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception
                                          or BlobNotFoundException or InvalidDataException)
            {
                // The primitives name the entry first; the exception names it once.
                var message = e.Message.StartsWith(entry.Path + ": ", StringComparison.Ordinal) ? e.Message[(entry.Path.Length + 2)..] : e.Message;
                throw new ContextEntryException(entry.Path, message, inner: e);
            }
        }
    }

    private async Task WriteAsync(ConfinedRoot confined, ManifestEntry entry, HashSet<string> seen, IReadOnlySet<string> servable,
        CancellationToken cancellationToken)
    {
        var components = Components(entry.Path);
        var key = string.Join('/', components);
        if (!seen.Add(key)) throw new ContextEntryException(entry.Path, "listed twice in the manifest");
        var name = components[^1];
        using var parent = confined.OpenDirectory(components[..^1], create: true, entry.Path)!;
        var permissions = entry.Mode & 0xFFF;
        switch (entry.Mode & TypeMask)
        {
            case TypeDirectory:
                // A child listed earlier may have made it already (implicitly, 0755).
                if (parent.Stat(name) is not { Type: FileStatus.Directory }) parent.CreateDirectory(name);
                parent.SetMode(name, permissions);
                break;
            case TypeSymlink:
                if (entry.LinkTarget.Length == 0 || entry.LinkTarget.Contains('\0'))
                    throw new ContextEntryException(entry.Path, "a symlink needs a target without NUL bytes");
                // The server reads ignore files by path: one that is a link would have it read a file of the host.
                if (components.Count == 1 && name.EndsWith(".dockerignore", StringComparison.Ordinal))
                    throw new ContextEntryException(entry.Path, "an ignore file must be a regular file, not a symlink");
                EnsureAbsent(parent, name, entry);
                parent.CreateSymlink(name, entry.LinkTarget);
                break;
            case TypeRegular:
                if (!Digest.TryParse(entry.Sha256, out var digest))
                    throw new ContextEntryException(entry.Path, $"invalid digest '{entry.Sha256}'");
                if (!servable.Contains(entry.Sha256))
                    throw new ContextEntryException(entry.Path, $"{entry.Sha256} was neither uploaded nor proven by this build", denied: true);
                EnsureAbsent(parent, name, entry);
                long written;
                await using (var blob = await store.OpenAsync(digest, cancellationToken))
                await using (var file = parent.CreateFile(name, 0b110_000_000, replace: false))
                {
                    await blob.CopyToAsync(file, cancellationToken);
                    written = file.Length;
                }
                if (written != entry.Size)
                    throw new ContextEntryException(entry.Path, $"the manifest says {entry.Size} bytes, the content of {entry.Sha256} has {written}");
                parent.SetMode(name, permissions);
                break;
            default:
                throw new ContextEntryException(entry.Path, $"unsupported file type in mode {Convert.ToString(entry.Mode, 8)} (a context holds files, directories and symlinks)");
        }
    }

    private static List<string> Components(string path)
    {
        // Clients send slash-separated paths relative to the context; a leading '/' is tolerated as before.
        var components = ConfinedRoot.Split(path.TrimStart('/'), path);
        if (components.Count == 0) throw new ContextEntryException(path, "names the context root itself");
        return components;
    }

    private static void EnsureAbsent(ConfinedDirectory parent, string name, ManifestEntry entry)
    {
        // Only an implicitly made parent directory can already be there: a later entry never replaces one.
        if (parent.Stat(name) is not null)
            throw new ContextEntryException(entry.Path, "a directory of that name was already made for earlier entries");
    }
}
