using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Oci.Native;

namespace BuildFarm.Coordinator.Context;

/// <summary>
/// Remembers the sha256 of context files by (path, device, inode, size, mtime, ctime), one file per context root, so
/// a rebuild hashes only what changed (as git's index does). A file whose times are within a few seconds of the walk
/// is not remembered: it could still change within the same timestamp tick. A missing or damaged cache file only
/// means hashing again.
/// </summary>
public sealed class ContextHashCache
{
    private const string Magic = "buildfarm-context-hashes-1";
    private const long RacySeconds = 2;

    private readonly string _file;
    private readonly Dictionary<string, Record> _known;
    private readonly ConcurrentDictionary<string, Record> _seen = new(StringComparer.Ordinal);
    private readonly long _walkStartSeconds;
    private int _added;

    private ContextHashCache(string file, Dictionary<string, Record> known, long walkStartSeconds)
    {
        _file = file;
        _known = known;
        _walkStartSeconds = walkStartSeconds;
    }

    /// <summary>The cache of <paramref name="contextRoot"/> kept in <paramref name="directory"/>, for a walk starting
    /// at <paramref name="now"/> (default: the clock).</summary>
    public static ContextHashCache Open(string directory, string contextRoot, DateTimeOffset? now = null)
    {
        var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(contextRoot))))[..32];
        var file = Path.Combine(directory, name);
        return new ContextHashCache(file, Load(file), (now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds());
    }

    /// <summary>The remembered hash of the file at <paramref name="path"/> (relative to the root), if it is unchanged.</summary>
    public string? TryGet(string path, in FileStatus status)
    {
        if (!_known.TryGetValue(path, out var record) || !record.Matches(status)) return null;
        _seen[path] = record;
        return record.Sha256;
    }

    public void Add(string path, in FileStatus status, string sha256)
    {
        if (status.ModificationSeconds >= _walkStartSeconds - RacySeconds || status.ChangeSeconds >= _walkStartSeconds - RacySeconds)
            return;
        _seen[path] = Record.Of(status, sha256);
        Interlocked.Increment(ref _added);
    }

    /// <summary>Writes what this walk saw (files gone from the context drop out), when anything changed.</summary>
    public void Save()
    {
        if (_added == 0 && _seen.Count == _known.Count) return;
        var temp = $"{_file}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            // A home that cannot be written (a --server client's) only costs the next build's hashing.
            Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var writer = new BinaryWriter(stream, Encoding.UTF8))
            {
                writer.Write(Magic);
                writer.Write(_seen.Count);
                foreach (var (path, r) in _seen)
                {
                    writer.Write(path);
                    writer.Write(r.Device); writer.Write(r.Inode); writer.Write(r.Size);
                    writer.Write(r.MtimeSeconds); writer.Write(r.MtimeNanoseconds);
                    writer.Write(r.CtimeSeconds); writer.Write(r.CtimeNanoseconds);
                    writer.Write(r.Sha256);
                }
            }
            File.Move(temp, _file, overwrite: true); // readers see the old or the new file, never half of one
        }
        catch (IOException)
        {
            File.Delete(temp); // a cache that cannot be written costs only the next build's hashing
        }
        catch (UnauthorizedAccessException)
        {
            File.Delete(temp);
        }
    }

    private static Dictionary<string, Record> Load(string file)
    {
        var known = new Dictionary<string, Record>(StringComparer.Ordinal);
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (reader.ReadString() != Magic) return known;
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var path = reader.ReadString();
                known[path] = new Record(reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadInt64(), reader.ReadInt64(),
                    reader.ReadInt64(), reader.ReadInt64(), reader.ReadInt64(), reader.ReadString());
            }
            return known;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return new(StringComparer.Ordinal); // missing or damaged (EndOfStreamException is an IOException): hash everything
        }
    }

    private sealed record Record(ulong Device, ulong Inode, long Size, long MtimeSeconds, long MtimeNanoseconds,
        long CtimeSeconds, long CtimeNanoseconds, string Sha256)
    {
        public static Record Of(in FileStatus s, string sha256) =>
            new(s.Device, s.Inode, s.Size, s.ModificationSeconds, s.ModificationNanoseconds, s.ChangeSeconds, s.ChangeNanoseconds, sha256);

        public bool Matches(in FileStatus s) =>
            Device == s.Device && Inode == s.Inode && Size == s.Size
            && MtimeSeconds == s.ModificationSeconds && MtimeNanoseconds == s.ModificationNanoseconds
            && CtimeSeconds == s.ChangeSeconds && CtimeNanoseconds == s.ChangeNanoseconds;
    }
}
