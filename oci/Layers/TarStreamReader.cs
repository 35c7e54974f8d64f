using System.Text;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Reads ustar/PAX/GNU tars from a forward-only stream (a decompressor): checksums verified, base-256 numbers, PAX
/// path/linkpath/size/uid/gid/uname/gname/mtime and SCHILY.xattr records kept as bytes, GNU long names.
/// Written for layers, where xattr values are binary and System.Formats.Tar would decode them as text.
/// </summary>
internal sealed class TarStreamReader(Stream stream)
{
    private const int Block = 512;
    private readonly byte[] _header = new byte[Block];
    private readonly Dictionary<string, byte[]> _global = new(StringComparer.Ordinal);
    private TarEntryDataStream? _current;
    private long _currentPadding;

    /// <summary>The next entry, or null at the end of the archive.</summary>
    public async Task<TarReadEntry?> NextAsync(CancellationToken cancellationToken)
    {
        await SkipCurrentAsync(cancellationToken);
        Dictionary<string, byte[]>? pax = null;
        string? longName = null, longLink = null;
        while (true)
        {
            if (!await ReadBlockAsync(cancellationToken)) return null;
            if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0) return null; // end-of-archive marker
            VerifyChecksum();

            var typeFlag = _header[156];
            var size = ParseNumber(_header.AsSpan(124, 12), "size");
            if (typeFlag is (byte)'x' or (byte)'g' or (byte)'L' or (byte)'K')
            {
                if (size > 16 * 1024 * 1024) throw new InvalidDataException($"tar extended header of {size} bytes is implausibly large");
                var data = new byte[size];
                await stream.ReadExactlyAsync(data, cancellationToken);
                await SkipAsync(Padding(size), cancellationToken);
                switch (typeFlag)
                {
                    case (byte)'x': pax = ParsePax(data, pax ?? new Dictionary<string, byte[]>(StringComparer.Ordinal)); break;
                    case (byte)'g': ParsePax(data, _global); break;
                    case (byte)'L': longName = CString(data); break;
                    case (byte)'K': longLink = CString(data); break;
                }
                continue;
            }

            var records = new Dictionary<string, byte[]>(_global, StringComparer.Ordinal);
            if (pax is not null) foreach (var (k, v) in pax) records[k] = v;

            var isUstar = _header.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
            var name = CString(_header.AsSpan(0, 100));
            if (isUstar && _header[345] != 0) name = CString(_header.AsSpan(345, 155)) + "/" + name;
            name = Text(records, "path") ?? longName ?? name;
            var link = Text(records, "linkpath") ?? longLink ?? CString(_header.AsSpan(157, 100));
            if (Text(records, "size") is { } paxSize) size = long.Parse(paxSize, System.Globalization.CultureInfo.InvariantCulture);
            var (mtime, mtimeNanos) = Text(records, "mtime") is { } paxTime ? ParsePaxTime(paxTime) : (ParseNumber(_header.AsSpan(136, 12), "mtime"), 0L);

            var xattrs = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (key, value) in records)
                if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                    xattrs[key["SCHILY.xattr.".Length..]] = value;

            var hasData = typeFlag is (byte)'0' or 0 or (byte)'7' && !(typeFlag == 0 && name.EndsWith('/'));
            var dataSize = hasData ? size : 0;
            // Headers of links, devices and dirs may still declare a size; its blocks must be skipped.
            _current = new TarEntryDataStream(stream, size);
            _currentPadding = Padding(size);
            return new TarReadEntry
            {
                Name = name,
                TypeFlag = typeFlag,
                Mode = (int)(ParseNumber(_header.AsSpan(100, 8), "mode") & 0xFFF),
                Uid = (int)(Text(records, "uid") is { } u ? long.Parse(u, System.Globalization.CultureInfo.InvariantCulture) : ParseNumber(_header.AsSpan(108, 8), "uid")),
                Gid = (int)(Text(records, "gid") is { } g ? long.Parse(g, System.Globalization.CultureInfo.InvariantCulture) : ParseNumber(_header.AsSpan(116, 8), "gid")),
                UserName = Text(records, "uname") ?? CString(_header.AsSpan(265, 32)),
                GroupName = Text(records, "gname") ?? CString(_header.AsSpan(297, 32)),
                ModificationSeconds = mtime,
                ModificationNanoseconds = mtimeNanos,
                LinkName = link,
                DeviceMajor = isUstar || _header[257] == (byte)'u' ? ParseNumber(_header.AsSpan(329, 8), "devmajor") : 0,
                DeviceMinor = isUstar || _header[257] == (byte)'u' ? ParseNumber(_header.AsSpan(337, 8), "devminor") : 0,
                Size = dataSize,
                Xattrs = xattrs,
                Data = _current,
            };
        }
    }

    /// <summary>Reads whatever follows the end-of-archive marker (so a caller hashing the stream sees all of it).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        await SkipCurrentAsync(cancellationToken);
        var buffer = new byte[64 * 1024];
        while (await stream.ReadAsync(buffer, cancellationToken) > 0) { }
    }

    private async Task SkipCurrentAsync(CancellationToken cancellationToken)
    {
        if (_current is null) return;
        await SkipAsync(_current.Remaining + _currentPadding, cancellationToken);
        _current.Remaining = 0;
        _current = null;
    }

    private async Task<bool> ReadBlockAsync(CancellationToken cancellationToken)
    {
        var read = await stream.ReadAtLeastAsync(_header, Block, throwOnEndOfStream: false, cancellationToken);
        if (read == 0) return false; // archives without the end marker are accepted, as GNU tar does
        if (read < Block) throw new InvalidDataException($"tar ends inside a header ({read} of {Block} bytes)");
        return true;
    }

    private async Task SkipAsync(long count, CancellationToken cancellationToken)
    {
        if (count <= 0) return;
        var buffer = new byte[(int)Math.Min(count, 64 * 1024)];
        while (count > 0)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
            if (n == 0) throw new InvalidDataException("tar ends inside an entry's data");
            count -= n;
        }
    }

    private void VerifyChecksum()
    {
        var stored = ParseNumber(_header.AsSpan(148, 8), "checksum");
        long unsigned = 0, signed = 0;
        for (var i = 0; i < Block; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : _header[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        if (stored != unsigned && stored != signed)
            throw new InvalidDataException($"tar header checksum mismatch near '{CString(_header.AsSpan(0, 100))}' (not a tar, or corrupted)");
    }

    private static long Padding(long size) => (Block - size % Block) % Block;

    private static long ParseNumber(ReadOnlySpan<byte> field, string what)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256: big-endian two's complement with the top bit as marker.
            long value = field[0] & 0x7F;
            if ((field[0] & 0x40) != 0) value |= ~0x7FL; // negative
            for (var i = 1; i < field.Length; i++) value = (value << 8) | field[i];
            return value;
        }
        long result = 0;
        var seen = false;
        foreach (var b in field)
        {
            if (b is 0 || (b == (byte)' ' && seen)) break;
            if (b == (byte)' ') continue;
            if (b is < (byte)'0' or > (byte)'7') throw new InvalidDataException($"tar header {what} field is not octal");
            result = (result << 3) | (long)(b - '0');
            seen = true;
        }
        return result;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static string? Text(Dictionary<string, byte[]> records, string key) =>
        records.TryGetValue(key, out var value) ? Encoding.UTF8.GetString(value) : null;

    private static (long Seconds, long Nanoseconds) ParsePaxTime(string text)
    {
        var dot = text.IndexOf('.');
        var seconds = long.Parse(dot < 0 ? text : text[..dot], System.Globalization.CultureInfo.InvariantCulture);
        if (dot < 0) return (seconds, 0);
        var fraction = text[(dot + 1)..].PadRight(9, '0')[..9];
        var nanos = long.Parse(fraction, System.Globalization.CultureInfo.InvariantCulture);
        return text.StartsWith('-') && nanos > 0 ? (seconds - 1, 1_000_000_000 - nanos) : (seconds, nanos);
    }

    /// <summary>"%d key=value\n" records; an empty value deletes the key (POSIX).</summary>
    private static Dictionary<string, byte[]> ParsePax(byte[] data, Dictionary<string, byte[]> into)
    {
        var i = 0;
        while (i < data.Length)
        {
            var space = Array.IndexOf(data, (byte)' ', i);
            if (space < 0) break;
            if (!int.TryParse(data.AsSpan(i, space - i), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
                || length <= space - i || i + length > data.Length || data[i + length - 1] != (byte)'\n')
                throw new InvalidDataException("malformed PAX extended header record");
            var record = data.AsSpan(space + 1, i + length - 1 - (space + 1));
            var eq = record.IndexOf((byte)'=');
            if (eq < 0) throw new InvalidDataException("PAX record without '='");
            var key = Encoding.UTF8.GetString(record[..eq]);
            var value = record[(eq + 1)..].ToArray();
            if (value.Length == 0) into.Remove(key);
            else into[key] = value;
            i += length;
        }
        return into;
    }
}
