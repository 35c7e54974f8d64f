using System.Text;

namespace BuildFarm.Oci.Layers;

/// <summary>Encodes ustar header blocks and PAX extended-header records (POSIX.1-2001).</summary>
internal static class TarHeaderEncoder
{
    public const int BlockSize = 512;
    private const long MaxOctal7 = 0x1FFFFF;      // 8-byte field: 7 octal digits
    private const long MaxOctal11 = 0x1FFFFFFFF;  // 12-byte field: 11 octal digits

    public static byte TypeFlag(LayerEntryType type) => type switch
    {
        LayerEntryType.RegularFile => (byte)'0',
        LayerEntryType.HardLink => (byte)'1',
        LayerEntryType.Symlink => (byte)'2',
        LayerEntryType.CharacterDevice => (byte)'3',
        LayerEntryType.BlockDevice => (byte)'4',
        LayerEntryType.Directory => (byte)'5',
        LayerEntryType.Fifo => (byte)'6',
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown layer entry type"),
    };

    /// <summary>
    /// Writes the headers for one entry into a byte array: an optional PAX 'x' header (with its data) followed by
    /// the ustar header. Content, if any, follows separately.
    /// </summary>
    public static byte[] Encode(string name, LayerEntry e, long mtimeSeconds)
    {
        var pax = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var (prefixField, nameField) = SplitName(nameBytes);
        if (nameField is null || !IsAscii(nameBytes))
        {
            pax["path"] = nameBytes;
            (prefixField, nameField) = ([], Fallback(nameBytes, 100));
        }

        var linkBytes = e.LinkTarget is null ? [] : Encoding.UTF8.GetBytes(e.LinkTarget);
        if (linkBytes.Length > 100 || !IsAscii(linkBytes))
        {
            pax["linkpath"] = linkBytes;
            linkBytes = Fallback(linkBytes, 100);
        }

        var size = e.Type == LayerEntryType.RegularFile ? e.Size : 0;
        if (size > MaxOctal11) pax["size"] = Ascii(size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (e.Uid > MaxOctal7) pax["uid"] = Ascii(e.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (e.Gid > MaxOctal7) pax["gid"] = Ascii(e.Gid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (mtimeSeconds < 0 || mtimeSeconds > MaxOctal11) pax["mtime"] = Ascii(mtimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var uname = Encoding.UTF8.GetBytes(e.UserName);
        if (uname.Length > 32 || !IsAscii(uname)) { pax["uname"] = uname; uname = Fallback(uname, 32); }
        var gname = Encoding.UTF8.GetBytes(e.GroupName);
        if (gname.Length > 32 || !IsAscii(gname)) { pax["gname"] = gname; gname = Fallback(gname, 32); }

        if (e.DeviceMajor is < 0 or > MaxOctal7 || e.DeviceMinor is < 0 or > MaxOctal7)
            throw new InvalidDataException($"'{name}': device numbers {e.DeviceMajor}:{e.DeviceMinor} do not fit a tar header");

        if (e.Xattrs is not null)
            foreach (var (key, value) in e.Xattrs)
                pax["SCHILY.xattr." + key] = value;

        using var output = new MemoryStream();
        if (pax.Count > 0)
        {
            var records = EncodePaxRecords(pax);
            var paxName = Fallback(Encoding.UTF8.GetBytes("PaxHeaders/" + name.TrimEnd('/')), 100);
            var header = new byte[BlockSize];
            WriteUstar(header, [], paxName, 0b110_100_100, 0, 0, records.Length, Math.Clamp(mtimeSeconds, 0, MaxOctal11),
                (byte)'x', [], [], [], 0, 0);
            output.Write(header);
            output.Write(records);
            output.Write(new byte[Padding(records.Length)]);
        }

        var main = new byte[BlockSize];
        WriteUstar(main, prefixField, nameField, e.Mode & 0xFFF,
            Math.Min(e.Uid, MaxOctal7), Math.Min(e.Gid, MaxOctal7), Math.Min(size, MaxOctal11),
            Math.Clamp(mtimeSeconds, 0, MaxOctal11), TypeFlag(e.Type), linkBytes, uname, gname,
            e.DeviceMajor, e.DeviceMinor);
        output.Write(main);
        return output.ToArray();
    }

    public static int Padding(long length) => (int)((BlockSize - length % BlockSize) % BlockSize);

    private static byte[] EncodePaxRecords(SortedDictionary<string, byte[]> pax)
    {
        using var ms = new MemoryStream();
        foreach (var (key, value) in pax)
        {
            // "%d %s=%s\n" where %d counts the whole record, including its own digits.
            var keyBytes = Encoding.UTF8.GetBytes(key);
            var rest = 1 + keyBytes.Length + 1 + value.Length + 1;
            var length = rest + 1;
            while (length.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + rest != length)
                length = length.ToString(System.Globalization.CultureInfo.InvariantCulture).Length + rest;
            ms.Write(Ascii(length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            ms.WriteByte((byte)' ');
            ms.Write(keyBytes);
            ms.WriteByte((byte)'=');
            ms.Write(value);
            ms.WriteByte((byte)'\n');
        }
        return ms.ToArray();
    }

    /// <summary>Splits a name into ustar prefix (≤155) and name (≤100) at a '/'; name is null when impossible.</summary>
    private static (byte[] Prefix, byte[]? Name) SplitName(byte[] name)
    {
        if (name.Length <= 100) return ([], name);
        for (var i = name.Length - 1; i > 0; i--)
        {
            if (name[i] != (byte)'/') continue;
            var nameLen = name.Length - i - 1;
            if (nameLen > 100) break;
            if (i <= 155 && nameLen > 0) return (name[..i], name[(i + 1)..]);
        }
        return ([], null);
    }

    private static void WriteUstar(Span<byte> h, byte[] prefix, byte[] name, long mode, long uid, long gid, long size,
        long mtime, byte typeFlag, byte[] link, byte[] uname, byte[] gname, long devMajor, long devMinor)
    {
        h.Clear();
        name.AsSpan(0, Math.Min(name.Length, 100)).CopyTo(h[0..]);
        Octal(h.Slice(100, 8), mode);
        Octal(h.Slice(108, 8), uid);
        Octal(h.Slice(116, 8), gid);
        Octal(h.Slice(124, 12), size);
        Octal(h.Slice(136, 12), mtime);
        h[156] = typeFlag;
        link.AsSpan(0, Math.Min(link.Length, 100)).CopyTo(h[157..]);
        "ustar\0"u8.CopyTo(h[257..]);
        "00"u8.CopyTo(h[263..]);
        uname.AsSpan(0, Math.Min(uname.Length, 32)).CopyTo(h[265..]);
        gname.AsSpan(0, Math.Min(gname.Length, 32)).CopyTo(h[297..]);
        if (typeFlag is (byte)'3' or (byte)'4')
        {
            Octal(h.Slice(329, 8), devMajor);
            Octal(h.Slice(337, 8), devMinor);
        }
        prefix.AsSpan(0, Math.Min(prefix.Length, 155)).CopyTo(h[345..]);

        h.Slice(148, 8).Fill((byte)' ');
        var sum = 0;
        foreach (var b in h) sum += b;
        Octal(h.Slice(148, 7), sum);
        h[155] = (byte)' ';
    }

    /// <summary>Zero-padded octal, NUL-terminated, filling the field.</summary>
    private static void Octal(Span<byte> field, long value)
    {
        var digits = field.Length - 1;
        for (var i = digits - 1; i >= 0; i--)
        {
            field[i] = (byte)('0' + (value & 7));
            value >>= 3;
        }
        field[digits] = 0;
    }

    private static bool IsAscii(byte[] bytes) => System.Text.Ascii.IsValid(bytes);

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    /// <summary>A printable ASCII stand-in for readers that ignore PAX headers.</summary>
    private static byte[] Fallback(byte[] bytes, int max)
    {
        var result = new byte[Math.Min(bytes.Length, max)];
        for (var i = 0; i < result.Length; i++) result[i] = bytes[i] < 0x80 ? bytes[i] : (byte)'_';
        return result;
    }
}
