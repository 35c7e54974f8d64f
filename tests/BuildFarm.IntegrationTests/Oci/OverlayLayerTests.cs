using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;

namespace BuildFarm.IntegrationTests.Oci;

/// <summary>
/// The worker's path with the real kernel: changes made through an overlayfs mount leave whiteouts in the upperdir;
/// our layer of that upperdir, applied flat or mounted again as overlay lowerdirs, must give the merged view back.
/// </summary>
public class OverlayLayerTests
{
    private static async Task MountAsync(string target, string lowerdirs, string? upper = null, string? work = null)
    {
        var options = $"lowerdir={lowerdirs}" + (upper is null ? "" : $",upperdir={upper},workdir={work}") + ",redirect_dir=off,index=off,metacopy=off";
        await ExternalTool.RunCheckedAsync("mount", "-t", "overlay", "overlay", "-o", options, target);
    }

    private static Task UnmountAsync(string target) => ExternalTool.RunCheckedAsync("umount", target);

    private static void ChangeThroughMount(string merged)
    {
        File.Delete(Path.Combine(merged, "etc/removed.conf"));                    // whiteout
        File.WriteAllText(Path.Combine(merged, "etc/hostname"), "changed\n");      // copy-up
        Directory.Delete(Path.Combine(merged, "opt/app"), recursive: true);       // whole dir gone ...
        Directory.CreateDirectory(Path.Combine(merged, "opt/app"));               // ... and back: opaque
        File.WriteAllText(Path.Combine(merged, "opt/app/new.so"), "new");
        Directory.Delete(Path.Combine(merged, "var/log"), recursive: true);       // dir whiteout
        Posix.Chmod(Path.Combine(merged, "usr/bin/tool"), 0b111_000_000);         // metadata-only change
        Posix.LChown(Path.Combine(merged, "home/user/notes"), 2000, 2000);
        File.Delete(Path.Combine(merged, "bin"));                                 // symlink whiteout
        File.CreateSymbolicLink(Path.Combine(merged, "bin"), "/usr/bin");         // and a new one
        File.WriteAllText(Path.Combine(merged, "etc/added"), "added");
    }

    [Fact]
    public async Task Upperdir_of_real_overlay_changes_becomes_a_layer_that_reproduces_the_merged_view()
    {
        using var dir = new TempDirectory();
        var lower = dir.CreateSubdirectory("lower");
        var upper = dir.CreateSubdirectory("upper");
        var work = dir.CreateSubdirectory("work");
        var merged = dir.CreateSubdirectory("merged");
        TestImage.MakeBaseTree(lower);

        IReadOnlyList<string> expected;
        await MountAsync(merged, lower, upper, work);
        try
        {
            ChangeThroughMount(merged);
            expected = TreeSnapshot.Take(merged, withOwnership: true);
        }
        finally
        {
            await UnmountAsync(merged);
        }

        var baseLayer = new MemoryStream();
        var changeLayer = new MemoryStream();
        await LayerCompressor.CompressDirectoryAsync(lower, baseLayer, LayerCompression.Gzip);
        var change = await LayerCompressor.CompressDirectoryAsync(upper, changeLayer, LayerCompression.Gzip, WhiteoutTranslation.Overlay);

        // Flat: both layers onto one directory.
        var flat = dir.Combine("flat");
        var blobs = new[] { baseLayer.ToArray(), changeLayer.ToArray() };
        foreach (var blob in blobs)
            await new LayerApplier().ApplyBlobAsync(new MemoryStream(blob), change.Descriptor.MediaType, flat);
        Assert.Equal(expected, TreeSnapshot.Take(flat, withOwnership: true));

        // Overlay: each layer in its own directory, whiteouts as the kernel wants them, mounted read-only.
        var overlayApplier = new LayerApplier(new LayerApplyOptions { Whiteouts = WhiteoutTranslation.Overlay });
        var l1 = dir.Combine("l1");
        var l2 = dir.Combine("l2");
        await overlayApplier.ApplyBlobAsync(new MemoryStream(blobs[0]), change.Descriptor.MediaType, l1);
        await overlayApplier.ApplyBlobAsync(new MemoryStream(blobs[1]), change.Descriptor.MediaType, l2);
        var view = dir.CreateSubdirectory("view");
        await MountAsync(view, $"{l2}:{l1}");
        try
        {
            Assert.Equal(expected, TreeSnapshot.Take(view, withOwnership: true));
        }
        finally
        {
            await UnmountAsync(view);
        }
    }
}
