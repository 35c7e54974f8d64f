using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;

namespace BuildFarm.Tests.Oci;

public class LayerTarWriterTests
{
    private static async Task<List<TarEntry>> ReadEntriesAsync(byte[] tar)
    {
        var result = new List<TarEntry>();
        await using var reader = new TarReader(new MemoryStream(tar));
        while (await reader.GetNextEntryAsync(copyData: true) is { } e) result.Add(e);
        return result;
    }

    private static void MakeSampleTree(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "usr/bin"));
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "buildfarm\n");
        File.WriteAllText(Path.Combine(root, "usr/bin/tool"), "#!/bin/sh\necho hi\n");
        Posix.Chmod(Path.Combine(root, "usr/bin/tool"), 0b111_101_101);
        File.CreateSymbolicLink(Path.Combine(root, "bin"), "usr/bin");
        File.WriteAllBytes(Path.Combine(root, "a-b"), new byte[1000]);
        Directory.CreateDirectory(Path.Combine(root, "a"));
        File.WriteAllText(Path.Combine(root, "a/z"), "z");
    }

    [Fact]
    public async Task Same_directory_gives_byte_identical_layers_twice()
    {
        using var dir = new TempDirectory();
        MakeSampleTree(dir.Path);
        foreach (var compression in new[] { LayerCompression.None, LayerCompression.Gzip, LayerCompression.Zstd })
        {
            using var first = new MemoryStream();
            using var second = new MemoryStream();
            var a = await LayerCompressor.CompressDirectoryAsync(dir.Path, first, compression);
            // Touch atime/ctime between runs: neither may leak into the layer.
            File.ReadAllBytes(dir.Combine("etc/hostname"));
            Posix.Chmod(dir.Combine("etc/hostname"), Posix.LStat(dir.Combine("etc/hostname")).Permissions);
            var b = await LayerCompressor.CompressDirectoryAsync(dir.Path, second, compression);
            Assert.Equal(first.ToArray(), second.ToArray());
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public async Task Entries_come_out_in_walk_order_whatever_order_they_go_in()
    {
        var entries = new[]
        {
            LayerEntry.File("a-b", "x"u8.ToArray()),
            LayerEntry.File("a/b", "y"u8.ToArray()),
            LayerEntry.Directory("a"),
            LayerEntry.File("B", []),
        };
        var tar = await new LayerTarWriter().WriteToArrayAsync(entries);
        var names = (await ReadEntriesAsync(tar)).Select(e => e.Name).ToList();
        Assert.Equal(["B", "a/", "a/b", "a-b"], names);
    }

    [Fact]
    public async Task Duplicate_paths_are_rejected_with_the_path_named()
    {
        var entries = new[] { LayerEntry.File("x", []), LayerEntry.File("./x", []) };
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new LayerTarWriter().WriteToArrayAsync(entries));
        Assert.Contains("'x' appears twice", e.Message);
    }

    [Fact]
    public async Task Long_and_non_ascii_names_are_carried_in_pax_records()
    {
        var longName = string.Join('/', Enumerable.Repeat("directory-name-that-is-long", 12)) + "/file";
        var longLink = new string('t', 150);
        var entries = new[]
        {
            LayerEntry.File(longName, "long"u8.ToArray()),
            LayerEntry.File("héllo/wörld", "utf8"u8.ToArray()),
            LayerEntry.Symlink("link", longLink),
        };
        var read = await ReadEntriesAsync(await new LayerTarWriter().WriteToArrayAsync(entries));
        Assert.Contains(read, e => e.Name == longName && new StreamReader(e.DataStream!).ReadToEnd() == "long");
        Assert.Contains(read, e => e.Name == "héllo/wörld");
        Assert.Contains(read, e => e.Name == "link" && e.LinkName == longLink);
    }

    [Fact]
    public async Task Name_between_100_and_255_bytes_uses_the_ustar_prefix_without_pax()
    {
        var name = new string('p', 120) + "/" + new string('n', 90);
        var tar = await new LayerTarWriter().WriteToArrayAsync([LayerEntry.File(name, [])]);
        Assert.Equal((byte)'0', tar[156]); // first header is the file itself, not a PAX 'x' header
        var read = await ReadEntriesAsync(tar);
        Assert.Equal(name, Assert.Single(read).Name);
    }

    [Fact]
    public async Task Source_date_epoch_clamps_later_mtimes_and_keeps_earlier_ones()
    {
        var epoch = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var entries = new[]
        {
            LayerEntry.File("old", []) with { ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1_000_000_000) },
            LayerEntry.File("new", []) with { ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000).AddMilliseconds(123) },
        };
        var read = await ReadEntriesAsync(await new LayerTarWriter(new LayerWriterOptions { SourceDateEpoch = epoch }).WriteToArrayAsync(entries));
        Assert.Equal(epoch, read.Single(e => e.Name == "new").ModificationTime);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_000_000_000), read.Single(e => e.Name == "old").ModificationTime);
    }

    [Fact]
    public async Task Ownership_is_normalized_to_the_given_ids_and_names()
    {
        var entries = new[] { LayerEntry.File("f", []) with { Uid = 1234, Gid = 5678, UserName = "me", GroupName = "us" } };
        var options = new LayerWriterOptions { Uid = 0, Gid = 0, UserName = "root", GroupName = "root" };
        var e = Assert.Single(await ReadEntriesAsync(await new LayerTarWriter(options).WriteToArrayAsync(entries)));
        var posix = Assert.IsAssignableFrom<PosixTarEntry>(e);
        Assert.Equal((0, 0, "root", "root"), (posix.Uid, posix.Gid, posix.UserName, posix.GroupName));
    }

    [Fact]
    public void Hard_links_in_a_directory_become_link_entries_to_the_first_path()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("a"), "shared");
        Posix.Link(dir.Combine("a"), dir.Combine("b"));
        var entries = DirectoryLayerSource.Read(dir.Path);
        Assert.Equal(LayerEntryType.RegularFile, entries.Single(e => e.Path == "a").Type);
        var link = entries.Single(e => e.Path == "b");
        Assert.Equal((LayerEntryType.HardLink, "a"), (link.Type, link.LinkTarget));
    }

    [Fact]
    public async Task Devices_fifos_and_xattrs_survive_a_round_trip_through_a_layer()
    {
        using var dir = new TempDirectory();
        var source = dir.CreateSubdirectory("src");
        Posix.MkNod(Path.Combine(source, "null"), FileStatus.CharDevice | 0b110_110_110, 1, 3);
        Posix.MkNod(Path.Combine(source, "loop"), FileStatus.BlockDevice | 0b110_110_000, 7, 300);
        Posix.MkNod(Path.Combine(source, "pipe"), FileStatus.Fifo | 0b110_100_100, 0, 0);
        File.WriteAllText(Path.Combine(source, "cap"), "x");
        Posix.SetXattr(Path.Combine(source, "cap"), "user.buildfarm", "value-1"u8);

        using var blob = new MemoryStream();
        var layer = await LayerCompressor.CompressDirectoryAsync(source, blob, LayerCompression.Gzip);
        blob.Position = 0;
        var target = dir.Combine("dst");
        await new LayerApplier().ApplyBlobAsync(blob, layer.Descriptor.MediaType, target);

        Assert.Equal(TreeSnapshot.Take(source, withOwnership: true), TreeSnapshot.Take(target, withOwnership: true));
        Assert.Equal("value-1"u8.ToArray(), Posix.GetXattr(Path.Combine(target, "cap"), "user.buildfarm"));
    }

    [Fact]
    public async Task Gnu_tar_lists_our_layer_without_complaint()
    {
        using var dir = new TempDirectory();
        var longName = string.Join('/', Enumerable.Repeat("deep-directory-name", 10)) + "/leaf";
        var tarPath = dir.Combine("layer.tar");
        await using (var file = File.Create(tarPath))
        {
            await new LayerTarWriter().WriteAsync([
                LayerEntry.Directory("d"),
                LayerEntry.File("d/file", Encoding.UTF8.GetBytes("content")),
                LayerEntry.File(longName, []),
                LayerEntry.Symlink("d/link", "file"),
                LayerEntry.HardLink("d/hard", "d/file"),
            ], file);
        }
        var psi = new ProcessStartInfo("tar", ["-tvf", tarPath]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var tar = Process.Start(psi)!;
        var stdout = await tar.StandardOutput.ReadToEndAsync();
        var stderr = await tar.StandardError.ReadToEndAsync();
        await tar.WaitForExitAsync();
        Assert.True(tar.ExitCode == 0 && stderr.Length == 0, $"tar failed ({tar.ExitCode}): {stderr}");
        Assert.Contains(longName, stdout);
        Assert.Contains("d/hard link to d/file", stdout);
    }

    [Fact]
    public async Task Entries_from_an_async_stream_give_the_same_layer_as_a_list()
    {
        LayerEntry[] entries = [LayerEntry.File("b", "2"u8.ToArray()), LayerEntry.Directory("a"), LayerEntry.File("a/c", "3"u8.ToArray())];
        static async IAsyncEnumerable<LayerEntry> Stream(IEnumerable<LayerEntry> items)
        {
            foreach (var item in items)
            {
                await Task.Yield();
                yield return item;
            }
        }
        using var fromStream = new MemoryStream();
        await new LayerTarWriter().WriteAsync(Stream(entries), fromStream);
        Assert.Equal(await new LayerTarWriter().WriteToArrayAsync(entries), fromStream.ToArray());
    }

    [Theory]
    [InlineData("1700000000", 1700000000L)]
    [InlineData("0", 0L)]
    public void Source_date_epoch_is_parsed_as_unix_seconds(string value, long seconds)
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(seconds), LayerWriterOptions.ParseSourceDateEpoch(value));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("2024-01-01")]
    [InlineData("")]
    public void Malformed_source_date_epoch_is_rejected_naming_the_value(string value)
    {
        var e = Assert.Throws<FormatException>(() => LayerWriterOptions.ParseSourceDateEpoch(value));
        Assert.Contains($"'{value}'", e.Message);
    }
}
