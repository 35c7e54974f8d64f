using System.Diagnostics;
using BuildFarm.Oci.Layers;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A minimal Linux root filesystem for tests: Debian's busybox-static with its applet symlinks, /etc/passwd and
/// /etc/group holding root, nobody and app (uid 1000, also in group staff), built once per test run (use it as a
/// collection fixture). <see cref="Directory"/> is the folder, <see cref="TarPath"/> the same tree as a
/// deterministic layer tar.
/// </summary>
public sealed class BusyboxRootfs : IDisposable
{
    public const string BusyboxBinary = "/bin/busybox";
    /// <summary>Every entry's mtime, so the tar (and layers made from it) are the same on every run.</summary>
    public static readonly DateTimeOffset FixedTime = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _root;

    public BusyboxRootfs()
    {
        if (!File.Exists(BusyboxBinary))
            throw new InvalidOperationException($"{BusyboxBinary} is missing: install Debian's busybox-static (scripts/install-deps.sh)");
        _root = System.IO.Directory.CreateTempSubdirectory("bf-busybox-").FullName;
        Directory = Path.Combine(_root, "rootfs");
        TarPath = Path.Combine(_root, "rootfs.tar");
        Build(Directory);
        using var tar = File.Create(TarPath);
        new LayerTarWriter().WriteAsync(DirectoryLayerSource.Read(Directory), tar).GetAwaiter().GetResult();
    }

    public string Directory { get; }
    public string TarPath { get; }

    private static void Build(string root)
    {
        foreach (var dir in new[] { "bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home/app", "tmp", "var", "dev", "proc", "sys" })
            System.IO.Directory.CreateDirectory(Path.Combine(root, dir));
        File.Copy(BusyboxBinary, Path.Combine(root, "bin/busybox"));
        foreach (var applet in ListApplets())
        {
            var path = Path.Combine(root, applet);
            if (applet == "bin/busybox" || File.Exists(path) || System.IO.Directory.Exists(path)) continue;
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.CreateSymbolicLink(path, "/bin/busybox");
        }
        File.WriteAllText(Path.Combine(root, "etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n" +
            "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" +
            "app:x:1000:1000:app:/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc/group"),
            "root:x:0:\nstaff:x:50:app\nnogroup:x:65534:\napp:x:1000:\n");
        Run("chown", "1000:1000", Path.Combine(root, "home/app"));
        Run("chmod", "1777", Path.Combine(root, "tmp"));
        Run("chmod", "700", Path.Combine(root, "root"));
        // fixed mtimes (symlinks included) so the tar is byte-for-byte the same on every run
        Run("find", root, "-exec", "touch", "-h", "-d", FixedTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'"), "{}", "+");
    }

    private static IEnumerable<string> ListApplets() =>
        Run(BusyboxBinary, "--list-full").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.Contains('/') && !line.EndsWith('/'));

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {error}");
        return output;
    }

    public void Dispose() => System.IO.Directory.Delete(_root, recursive: true);
}
