using System.Diagnostics;
using BuildFarm.IntegrationTests.EndToEnd;
using BuildFarm.Oci.Layers;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A linux/amd64 + linux/arm64 busybox base for platform tests, made here with no internet: the amd64 rootfs of
/// <see cref="BusyboxRootfs"/>, and the same tree with Debian's arm64 busybox-static (scripts/install-deps.sh puts it at
/// <see cref="Arm64Busybox"/>); the farm builds both from one Dockerfile (<c>ADD rootfs-${TARGETARCH}.tar /</c>) and
/// pushes them as one index to a test registry.
/// </summary>
public static class MultiPlatformBusybox
{
    public const string Arm64Busybox = "/opt/buildfarm/arm64/bin/busybox";

    /// <summary>Writes rootfs-amd64.tar and rootfs-arm64.tar plus that Dockerfile into a context under <paramref name="scratch"/>.</summary>
    public static string Context(ExampleContext scratch, BusyboxRootfs busybox)
    {
        if (!File.Exists(Arm64Busybox))
            throw new InvalidOperationException($"{Arm64Busybox} is missing: run scripts/install-deps.sh (it fetches busybox-static:arm64)");
        var context = scratch.Context("multi-base", "FROM scratch\nARG TARGETARCH\nADD rootfs-${TARGETARCH}.tar /\nCMD [\"sh\"]\n");
        File.Copy(busybox.TarPath, Path.Combine(context, "rootfs-amd64.tar"));
        var arm64 = Path.Combine(scratch.Root, "rootfs-arm64");
        Run("cp", "-a", busybox.Directory, arm64);
        File.Copy(Arm64Busybox, Path.Combine(arm64, "bin/busybox"), overwrite: true);
        Run("touch", "-h", "-d", BusyboxRootfs.FixedTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'"), Path.Combine(arm64, "bin/busybox"));
        using (var tar = File.Create(Path.Combine(context, "rootfs-arm64.tar")))
            new LayerTarWriter().WriteAsync(DirectoryLayerSource.Read(arm64), tar).GetAwaiter().GetResult();
        Directory.Delete(arm64, recursive: true);
        return context;
    }

    /// <summary>Builds the base for both platforms and pushes the index as <paramref name="name"/>.</summary>
    public static async Task PushAsync(ExampleContext scratch, BusyboxRootfs busybox, string name)
    {
        var built = await scratch.Cli.BuildAsync("--platform", "linux/amd64,linux/arm64", "-t", name, "--push", Context(scratch, busybox));
        if (built.ExitCode != 0) throw new InvalidOperationException($"building the multi-platform busybox base failed: {built}");
    }

    private static void Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {error}");
    }
}
