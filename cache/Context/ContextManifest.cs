using System.Text.Json;
using BuildFarm.Oci;

namespace BuildFarm.Cache.Context;

/// <summary>
/// A build context by content: every entry (path, mode with type bits, size, content digest, link target, owner,
/// mtime) sorted by path (ordinal), plus the context folder's own metadata. Its canonical JSON is stored as a blob;
/// that blob's digest is the context's identity, so a worker on any machine can rebuild the folder from the store.
/// Construction and parsing validate every entry (relative, no '.'/'..'/empty component, parent listed before it
/// and a directory, no duplicates): a manifest that passes cannot place anything outside the folder it is
/// materialized in.
/// </summary>
public sealed class ContextManifest
{
    public const string MediaType = "application/vnd.buildfarm.context.manifest.v1+json";

    /// <summary>Bigger manifests are refused on read (about a million entries); a context that large is a mistake.</summary>
    public const long MaxBytes = 256L << 20;

    private byte[]? _bytes;

    /// <param name="root">The context folder itself (path "."): a directory.</param>
    /// <param name="entries">Every entry; sorted here.</param>
    /// <param name="source">Names the manifest in errors.</param>
    public ContextManifest(ContextManifestEntry root, IEnumerable<ContextManifestEntry> entries, string source = "context manifest")
    {
        Root = root;
        Entries = entries.OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
        Validate(source);
    }

    private ContextManifest(ContextManifestEntry root, ContextManifestEntry[] entries, string source, byte[] bytes)
    {
        Root = root;
        Entries = entries;
        Validate(source);
        _bytes = bytes;
    }

    public ContextManifestEntry Root { get; }

    /// <summary>Sorted by path, ordinal; parents before their children.</summary>
    public IReadOnlyList<ContextManifestEntry> Entries { get; }

    /// <summary>The canonical encoding: compact JSON, fixed property order, entries sorted by path.</summary>
    public ReadOnlyMemory<byte> ToBytes() => _bytes ??= Serialize();

    public Digest Digest => Digest.Compute(ToBytes().Span);

    /// <summary>Stores the manifest (put-if-absent) and returns its digest.</summary>
    public async Task<Digest> PutAsync(IContentStore store, CancellationToken cancellationToken = default)
    {
        var digest = Digest;
        if (await store.ExistsAsync(digest, cancellationToken)) return digest;
        using var content = new MemoryStream(ToBytes().ToArray(), writable: false);
        return await store.PutAsync(content, digest, cancellationToken);
    }

    /// <summary>Reads and validates the manifest <paramref name="digest"/> from <paramref name="store"/>.</summary>
    public static async Task<ContextManifest> ReadAsync(IContentStore store, Digest digest, CancellationToken cancellationToken = default)
    {
        var source = $"context manifest {digest}";
        await using var stream = await store.OpenAsync(digest, cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
                throw new InvalidContextManifestException($"{source}: larger than {MaxBytes} bytes");
            buffer.Write(chunk, 0, read);
        }
        return Parse(buffer.ToArray(), source);
    }

    /// <summary>Parses and validates a manifest; <paramref name="source"/> names it in errors.</summary>
    public static ContextManifest Parse(byte[] bytes, string source = "context manifest")
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new InvalidContextManifestException($"{source}: not valid JSON ({e.Message})"); }
        using (document)
        {
            var top = document.RootElement;
            if (top.ValueKind != JsonValueKind.Object) throw new InvalidContextManifestException($"{source}: not a JSON object");
            var mediaType = top.TryGetProperty("mediaType", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            if (mediaType != MediaType)
                throw new InvalidContextManifestException($"{source}: mediaType is '{mediaType}', expected '{MediaType}'");
            if (!top.TryGetProperty("root", out var rootElement))
                throw new InvalidContextManifestException($"{source}: no 'root'");
            var root = ReadEntry(rootElement, source, "root", isRoot: true);
            if (!top.TryGetProperty("entries", out var list) || list.ValueKind != JsonValueKind.Array)
                throw new InvalidContextManifestException($"{source}: no 'entries' array");
            var entries = new ContextManifestEntry[list.GetArrayLength()];
            var i = 0;
            foreach (var element in list.EnumerateArray())
            {
                entries[i] = ReadEntry(element, source, $"entry {i}", isRoot: false);
                i++;
            }
            return new ContextManifest(root, entries, source, bytes);
        }
    }

    private static ContextManifestEntry ReadEntry(JsonElement e, string source, string where, bool isRoot)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new InvalidContextManifestException($"{source}: {where} is not an object");
        string? path = isRoot ? "." : null;
        if (!isRoot)
        {
            path = String(e, "path", source, where) ?? throw new InvalidContextManifestException($"{source}: {where} has no path");
            where = $"entry '{path}'";
        }
        return new ContextManifestEntry(
            path!,
            (int)Integer(e, "mode", source, where, int.MinValue, int.MaxValue, required: true),
            Integer(e, "size", source, where, 0, long.MaxValue, required: !isRoot),
            String(e, "digest", source, where),
            String(e, "target", source, where),
            (int)Integer(e, "uid", source, where, 0, int.MaxValue, required: true),
            (int)Integer(e, "gid", source, where, 0, int.MaxValue, required: true),
            Integer(e, "mtime", source, where, long.MinValue, long.MaxValue, required: true),
            (int)Integer(e, "mtimeNanos", source, where, 0, 999_999_999, required: false));
    }

    private static string? String(JsonElement e, string name, string source, string where)
    {
        if (!e.TryGetProperty(name, out var value)) return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new InvalidContextManifestException($"{source}: {where}: '{name}' is not a string");
    }

    private static long Integer(JsonElement e, string name, string source, string where, long min, long max, bool required)
    {
        if (!e.TryGetProperty(name, out var value))
            return required ? throw new InvalidContextManifestException($"{source}: {where} has no '{name}'") : 0;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var n) || n < min || n > max)
            throw new InvalidContextManifestException($"{source}: {where}: '{name}' is not an integer in [{min}, {max}]");
        return n;
    }

    private byte[] Serialize()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("mediaType", MediaType);
            w.WritePropertyName("root");
            WriteEntry(w, Root, isRoot: true);
            w.WriteStartArray("entries");
            foreach (var entry in Entries) WriteEntry(w, entry, isRoot: false);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteEntry(Utf8JsonWriter w, ContextManifestEntry e, bool isRoot)
    {
        w.WriteStartObject();
        if (!isRoot) w.WriteString("path", e.Path);
        w.WriteNumber("mode", e.Mode);
        if (!isRoot) w.WriteNumber("size", e.Size);
        if (e.Digest is not null) w.WriteString("digest", e.Digest);
        if (e.LinkTarget is not null) w.WriteString("target", e.LinkTarget);
        w.WriteNumber("uid", e.Uid);
        w.WriteNumber("gid", e.Gid);
        w.WriteNumber("mtime", e.MtimeSeconds);
        if (e.MtimeNanoseconds != 0) w.WriteNumber("mtimeNanos", e.MtimeNanoseconds);
        w.WriteEndObject();
    }

    private void Validate(string source)
    {
        if (Root.Path != "." || !Root.IsDirectory || Root.Digest is not null || Root.LinkTarget is not null)
            throw new InvalidContextManifestException($"{source}: the root must be a directory with path '.'");
        CheckCommon(Root, source);
        var byPath = new Dictionary<string, ContextManifestEntry>(Entries.Count, StringComparer.Ordinal);
        string? previous = null;
        foreach (var entry in Entries)
        {
            var name = $"{source}: entry '{entry.Path}'";
            CheckPath(entry.Path, name);
            if (previous is not null)
            {
                var order = string.CompareOrdinal(previous, entry.Path);
                if (order == 0) throw new InvalidContextManifestException($"{name} is listed twice");
                if (order > 0) throw new InvalidContextManifestException($"{name} comes after '{previous}': entries must be sorted by path");
            }
            previous = entry.Path;
            CheckCommon(entry, source);
            var slash = entry.Path.LastIndexOf('/');
            if (slash > 0)
            {
                var parentPath = entry.Path[..slash];
                if (!byPath.TryGetValue(parentPath, out var parent))
                    throw new InvalidContextManifestException($"{name}: its parent '{parentPath}' is not listed before it");
                if (parent.IsSymlink)
                    throw new InvalidContextManifestException($"{name} is beneath the symlink '{parentPath}'");
                if (!parent.IsDirectory)
                    throw new InvalidContextManifestException($"{name} is beneath '{parentPath}', which is not a directory");
            }
            byPath[entry.Path] = entry;
        }
    }

    private static void CheckPath(string path, string name)
    {
        if (path.Length == 0) throw new InvalidContextManifestException($"{name}: empty path");
        if (path.StartsWith('/')) throw new InvalidContextManifestException($"{name}: absolute path (must be relative to the context)");
        if (path.Contains('\0')) throw new InvalidContextManifestException($"{name}: NUL in the path");
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0) throw new InvalidContextManifestException($"{name}: empty path component");
            if (part is "." or "..") throw new InvalidContextManifestException($"{name}: '{part}' component (paths must be clean and stay inside the context)");
        }
    }

    private static void CheckCommon(ContextManifestEntry e, string source)
    {
        var name = $"{source}: entry '{e.Path}'";
        if ((e.Mode & ~0xFFFF) != 0) throw new InvalidContextManifestException($"{name}: mode 0x{e.Mode:x} has bits beyond st_mode");
        if (e.Uid < 0 || e.Gid < 0) throw new InvalidContextManifestException($"{name}: negative uid/gid");
        if (e.MtimeNanoseconds is < 0 or > 999_999_999) throw new InvalidContextManifestException($"{name}: mtime nanoseconds out of range");
        switch (e.Type)
        {
            case ContextManifestEntry.TypeRegular:
                if (!Oci.Digest.TryParse(e.Digest, out var digest) || digest.Algorithm != Oci.Digest.Sha256Algorithm)
                    throw new InvalidContextManifestException($"{name}: a regular file needs a sha256 content digest (got '{e.Digest}')");
                if (e.Size < 0) throw new InvalidContextManifestException($"{name}: negative size");
                if (e.LinkTarget is not null) throw new InvalidContextManifestException($"{name}: a regular file has no link target");
                break;
            case ContextManifestEntry.TypeSymlink:
                if (string.IsNullOrEmpty(e.LinkTarget) || e.LinkTarget.Contains('\0'))
                    throw new InvalidContextManifestException($"{name}: a symlink needs a non-empty target without NUL");
                if (e.Digest is not null) throw new InvalidContextManifestException($"{name}: a symlink has no content digest");
                break;
            case ContextManifestEntry.TypeDirectory:
                if (e.Digest is not null || e.LinkTarget is not null)
                    throw new InvalidContextManifestException($"{name}: a directory has no content digest or link target");
                break;
            default:
                throw new InvalidContextManifestException($"{name}: type 0x{e.Type:x} is not a regular file, directory or symlink");
        }
    }
}
