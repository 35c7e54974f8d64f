using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Oci.Native;

namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>
/// BuildKit v0.13's content checksum of one path of a local source (cache/contenthash <c>Checksum</c> without wildcards,
/// as a COPY of a plain path asks it): a file is sha256 of its tarsum v1 header (tarsum.go: name "", mode, uid, gid, size,
/// typeflag, linkname, uname "", gname "", devmajor, devminor; no mtime) and its bytes (filehash.go NewFromStat); a
/// directory is sha256 over "\0" + its own header digest, then "\0" + name + digest of each child in byte order (a child
/// directory by this same recursive digest). Anything it does not reproduce for sure (symlinks, which BuildKit follows;
/// devices, fifos, sockets; xattrs BuildKit would hash) gives null: no key rather than a wrong one.
/// </summary>
public static class BuildKitContentHash
{
    /// <summary>The checksum of <paramref name="path"/> (cleaned, absolute in the context, not "/") under
    /// <paramref name="root"/>; null when BuildKit's value cannot be reproduced.</summary>
    public static string? Checksum(string root, string path, CancellationToken cancellationToken)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or "..")) return null;
        var current = root;
        foreach (var part in parts[..^1])
        {
            // a symlinked parent is resolved by BuildKit through its own tree: not modelled
            current = Path.Combine(current, part);
            if (!Posix.TryLStat(current, out var parent) || parent.Type != FileStatus.Directory) return null;
        }
        var full = Path.Combine(current, parts[^1]);
        try
        {
            return Posix.TryLStat(full, out var status) ? Entry(full, status, cancellationToken) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // changed or unreadable while hashed: no key (the COPY itself reports what is wrong with the file)
            return null;
        }
    }

    private static string? Entry(string full, FileStatus status, CancellationToken cancellationToken) => status.Type switch
    {
        FileStatus.Regular => File(full, status),
        FileStatus.Directory => Directory(full, status, cancellationToken),
        _ => null,
    };

    private static string? File(string full, FileStatus status)
    {
        if (Header(full, status, '0', status.Size) is not { } header) return null;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(header);
        using (var stream = Posix.OpenReadNoFollow(full))
        {
            var buffer = new byte[81920];
            long total = 0;
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                total += read;
            }
            // changed while read: the header's size would not describe these bytes
            if (total != status.Size) return null;
        }
        return Hex(hash.GetHashAndReset());
    }

    // cacheContext.checksum for a CacheRecordTypeDir: the key suffix ("\0" for its own header, "\0name" for each
    // child) and the record's digest, children in the radix tree's (byte) order, a child directory by its own digest.
    private static string? Directory(string full, FileStatus status, CancellationToken cancellationToken)
    {
        if (Header(full, status, '5', 0) is not { } header) return null;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData("\0"u8);
        hash.AppendData(Encoding.ASCII.GetBytes(Hex(SHA256.HashData(header))));
        var names = System.IO.Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName)
            .Select(n => Encoding.UTF8.GetBytes(n!)).ToList();
        names.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var child = Path.Combine(full, Encoding.UTF8.GetString(name));
            if (!Posix.TryLStat(child, out var childStatus) || Entry(child, childStatus, cancellationToken) is not { } digest) return null;
            hash.AppendData("\0"u8);
            hash.AppendData(name);
            hash.AppendData(Encoding.ASCII.GetBytes(digest));
        }
        return Hex(hash.GetHashAndReset());
    }

    // WriteV1TarsumHeaders of archive/tar.FileInfoHeader over fsutil's stat: the mode is the permission and
    // setuid/setgid/sticky bits, no owner names (the stat is not a syscall.Stat_t), the name cleared.
    private static byte[]? Header(string full, FileStatus status, char typeflag, long size)
    {
        // fsutil sends xattrs, tarsum hashes all but security.* (except security.capability) and system.*: not modelled
        if (Posix.ListXattrs(full).Keys.Any(k => k == "security.capability" || !(k.StartsWith("security.", StringComparison.Ordinal) || k.StartsWith("system.", StringComparison.Ordinal))))
            return null;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"namemode{status.Mode & 0xFFF}uid{status.Uid}gid{status.Gid}size{size}typeflag{typeflag}linknameunamegnamedevmajor0devminor0");
        return Encoding.UTF8.GetBytes(text);
    }

    private static string Hex(byte[] hash) => "sha256:" + Convert.ToHexStringLower(hash);
}
