using System.Diagnostics;
using System.IO.Compression;
using BuildFarm.Oci.Layers;

namespace BuildFarm.Worker.FileOps;

/// <summary>ADD's archive handling: recognises a tar by content (plain, gzip, bzip2, xz, zstd — never by name)
/// and unpacks it with the oci library's applier, which refuses entries escaping the target.</summary>
public sealed class ArchiveExtractor
{
    private enum Kind { None, Tar, Gzip, Bzip2, Xz, Zstd }

    public static async Task<bool> IsArchiveAsync(string path, CancellationToken cancellationToken) =>
        await DetectAsync(path, cancellationToken) != Kind.None;

    public async Task ExtractAsync(string archive, string target, CancellationToken cancellationToken)
    {
        var kind = await DetectAsync(archive, cancellationToken);
        // a user's tarball, not a layer: .wh. names are plain files and absolute names land under the target (as Docker)
        var applier = new LayerApplier(new LayerApplyOptions
        {
            Whiteouts = WhiteoutTranslation.None, HonorWhiteouts = false, AbsoluteNamesRelativeToRoot = true,
        });
        switch (kind)
        {
            case Kind.Tar:
                await using (var file = File.OpenRead(archive)) await applier.ApplyAsync(file, target, cancellationToken);
                break;
            case Kind.Gzip:
                await using (var file = File.OpenRead(archive))
                await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
                    await applier.ApplyAsync(gzip, target, cancellationToken);
                break;
            case Kind.Bzip2: await ExtractWithToolAsync("bzip2", archive, target, applier, cancellationToken); break;
            case Kind.Xz: await ExtractWithToolAsync("xz", archive, target, applier, cancellationToken); break;
            case Kind.Zstd: await ExtractWithToolAsync("zstd", archive, target, applier, cancellationToken); break;
            default: throw new CopyException($"{archive} is not a tar archive");
        }
    }

    // .NET has no bzip2/xz decoder; the Debian tools stream the tar to us.
    private static async Task ExtractWithToolAsync(string tool, string archive, string target, LayerApplier applier, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-dc");
        start.ArgumentList.Add(archive);
        using var process = Process.Start(start) ?? throw new CopyException($"could not start {tool} to decompress {archive}");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await applier.ApplyAsync(process.StandardOutput.BaseStream, target, cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        if (process.ExitCode != 0) throw new CopyException($"{tool} could not decompress {archive}: {(await stderr).Trim()}");
    }

    /// <summary>What <paramref name="path"/> is as ADD sees it: an archive only when its (decompressed) start is a tar
    /// header. A gzip (or bzip2, xz, zstd) file holding anything else is copied as is, as BuildKit does.</summary>
    private static async Task<Kind> DetectAsync(string path, CancellationToken cancellationToken)
    {
        var header = new byte[512];
        int read;
        await using (var file = File.OpenRead(path))
            read = await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        var h = header.AsSpan(0, read);
        var kind = Kind.None;
        if (h.StartsWith(new byte[] { 0x1f, 0x8b })) kind = Kind.Gzip;
        else if (h.StartsWith("BZh"u8)) kind = Kind.Bzip2;
        else if (h.StartsWith(new byte[] { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 })) kind = Kind.Xz;
        else if (h.StartsWith(new byte[] { 0x28, 0xb5, 0x2f, 0xfd })) kind = Kind.Zstd;
        else return IsTarHeader(h) ? Kind.Tar : Kind.None;
        return IsTarHeader(await DecompressedStartAsync(path, kind, cancellationToken)) ? kind : Kind.None;
    }

    private static async Task<byte[]> DecompressedStartAsync(string path, Kind kind, CancellationToken cancellationToken)
    {
        var start = new byte[512];
        try
        {
            if (kind == Kind.Gzip)
            {
                await using var file = File.OpenRead(path);
                await using var gzip = new GZipStream(file, CompressionMode.Decompress);
                var n = await gzip.ReadAtLeastAsync(start, start.Length, throwOnEndOfStream: false, cancellationToken);
                return start[..n];
            }
            var tool = kind switch { Kind.Bzip2 => "bzip2", Kind.Xz => "xz", _ => "zstd" };
            var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("-dc");
            info.ArgumentList.Add(path);
            using var process = Process.Start(info) ?? throw new CopyException($"could not start {tool} to look into {path}");
            try
            {
                var n = await process.StandardOutput.BaseStream.ReadAtLeastAsync(start, start.Length, throwOnEndOfStream: false, cancellationToken);
                return start[..n];
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        catch (InvalidDataException)
        {
            return []; // corrupt compressed data: not an archive, copied as is
        }
    }

    /// <summary>A tar header: "ustar" magic, or (old v7 tars) a header checksum that adds up.</summary>
    private static bool IsTarHeader(ReadOnlySpan<byte> h)
    {
        if (h.Length < 512) return false;
        if (h.Slice(257, 5).SequenceEqual("ustar"u8)) return true;
        var field = System.Text.Encoding.ASCII.GetString(h.Slice(148, 8)).Trim(' ', '\0');
        if (field.Length == 0 || !field.All(c => c is >= '0' and <= '7')) return false;
        long sum = 0;
        for (var i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? (byte)' ' : h[i];
        return sum == Convert.ToInt64(field, 8);
    }
}
