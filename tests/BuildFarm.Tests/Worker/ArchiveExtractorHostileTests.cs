using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;
using BuildFarm.TestSupport;
using BuildFarm.Worker.FileOps;

namespace BuildFarm.Tests.Worker;

/// <summary>ADD of a user's hostile tarball: the archive is unpacked and copied into the image without a single write
/// outside the destination root.</summary>
public sealed class ArchiveExtractorHostileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Archive(string name, bool gzip, params TarEntry[] entries)
    {
        var path = _dir.Combine(name);
        using var file = System.IO.File.Create(path);
        using Stream sink = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        using (var w = new TarWriter(sink, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        return path;
    }

    private static PaxTarEntry File(string name, string content = "planted") =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    private static PaxTarEntry Link(string name, string target) => new(TarEntryType.SymbolicLink, name) { LinkName = target };

    [Fact]
    public async Task An_archive_writing_through_a_relative_symlink_that_climbs_out_is_refused_naming_the_entry()
    {
        var host = _dir.CreateSubdirectory("host");
        var archive = Archive("evil.tar.gz", gzip: true, Link("evil", "../../../../../../../../.." + host), File("evil/planted"));
        var e = await Assert.ThrowsAsync<UnsafeLayerPathException>(() => new ArchiveExtractor().ExtractAsync(archive, _dir.Combine("target"), CancellationToken.None));
        Assert.Contains("evil/planted", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host));
    }

    [Fact]
    public async Task An_archive_writing_through_an_absolute_symlink_stays_beneath_the_target()
    {
        var host = _dir.CreateSubdirectory("host");
        var target = _dir.Combine("target");
        var archive = Archive("abs.tar", gzip: false, Link("etc", host), File("etc/passwd"), File("/abs/name", "rooted"));
        await new ArchiveExtractor().ExtractAsync(archive, target, CancellationToken.None);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host));
        Assert.Equal("planted", System.IO.File.ReadAllText(target + host + "/passwd"));
        Assert.Equal("rooted", System.IO.File.ReadAllText(Path.Combine(target, "abs/name")));
    }

    [Fact]
    public async Task A_hard_link_entry_climbing_out_of_the_archive_is_refused()
    {
        var victim = _dir.Combine("victim");
        System.IO.File.WriteAllText(victim, "host data");
        var archive = Archive("link.tar", gzip: false, new PaxTarEntry(TarEntryType.HardLink, "stolen") { LinkName = "../../../../../../.." + victim });
        await Assert.ThrowsAsync<UnsafeLayerPathException>(() => new ArchiveExtractor().ExtractAsync(archive, _dir.Combine("target"), CancellationToken.None));
        Assert.Equal(1UL, Posix.LStat(victim).LinkCount);
    }

    [Fact]
    public async Task Add_of_a_hostile_archive_is_a_copy_error_and_the_host_is_untouched()
    {
        var host = _dir.CreateSubdirectory("host");
        var context = _dir.CreateSubdirectory("context");
        var image = _dir.CreateSubdirectory("image");
        System.IO.File.Move(Archive("evil.tar", gzip: false, Link("x", "../../../../../../../.." + host), File("x/planted")), Path.Combine(context, "evil.tar"));
        var e = await Assert.ThrowsAsync<CopyException>(() => new FileCopier(new ArchiveExtractor()).CopyAsync(new CopySpec
        {
            SourceRoot = context, Sources = ["evil.tar"], DestinationRoot = image, Destination = "/", ExtractArchives = true,
        }, CancellationToken.None));
        Assert.Contains("x/planted", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(host));
    }

    [Fact]
    public async Task Add_into_an_image_symlink_to_a_host_path_lands_inside_the_image()
    {
        var host = _dir.CreateSubdirectory("host");
        var context = _dir.CreateSubdirectory("context");
        var image = _dir.CreateSubdirectory("image");
        System.IO.File.CreateSymbolicLink(Path.Combine(image, "opt"), host);
        System.IO.File.CreateSymbolicLink(Path.Combine(image, "f"), Path.Combine(host, "victim"));
        System.IO.File.WriteAllText(Path.Combine(host, "victim"), "host data");
        System.IO.File.Move(Archive("ok.tar", gzip: false, File("app/bin", "binary")), Path.Combine(context, "ok.tar"));
        System.IO.File.WriteAllText(Path.Combine(context, "plain.txt"), "plain");
        var copier = new FileCopier(new ArchiveExtractor());
        await copier.CopyAsync(new CopySpec { SourceRoot = context, Sources = ["ok.tar"], DestinationRoot = image, Destination = "/opt/", ExtractArchives = true },
            CancellationToken.None);
        await copier.CopyAsync(new CopySpec { SourceRoot = context, Sources = ["plain.txt"], DestinationRoot = image, Destination = "/f" },
            CancellationToken.None);
        Assert.Equal(["victim"], Directory.EnumerateFileSystemEntries(host).Select(Path.GetFileName));
        Assert.Equal("host data", System.IO.File.ReadAllText(Path.Combine(host, "victim")));
        Assert.Equal("binary", System.IO.File.ReadAllText(image + host + "/app/bin"));
        // COPY writes through the image's symlink /f as BuildKit does, to its target scoped to the image's root
        Assert.NotNull(new FileInfo(Path.Combine(image, "f")).LinkTarget);
        Assert.Equal("plain", System.IO.File.ReadAllText(image + host + "/victim"));
    }
}
