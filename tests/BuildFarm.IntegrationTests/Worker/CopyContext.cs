using System.Diagnostics;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>A build context for COPY/ADD tests: plain files, a directory tree, the same tar archive in every
/// compression, a file that only looks like an archive, and symlinks escaping the context.</summary>
public sealed class CopyContext : IDisposable
{
    public CopyContext()
    {
        Root = System.IO.Directory.CreateTempSubdirectory("bfw-copyctx").FullName;
        Directory = Path.Combine(Root, "ctx");
        var d = Directory;
        System.IO.Directory.CreateDirectory(Path.Combine(d, "dir/sub"));
        File.WriteAllText(Path.Combine(d, "a.txt"), "A");
        File.WriteAllText(Path.Combine(d, "b.txt"), "B");
        File.WriteAllText(Path.Combine(d, "c.log"), "C");
        File.WriteAllText(Path.Combine(d, "dir/x.txt"), "X");
        File.WriteAllText(Path.Combine(d, "dir/skip.log"), "S");
        File.WriteAllText(Path.Combine(d, "dir/sub/y.txt"), "Y");
        File.CreateSymbolicLink(Path.Combine(d, "dir/link-to-x"), "x.txt");
        System.IO.Directory.CreateDirectory(Path.Combine(d, "linked"));
        File.WriteAllText(Path.Combine(d, "linked/one"), "shared inode");
        Run("ln", Path.Combine(d, "linked/one"), Path.Combine(d, "linked/two"));
        // A tree large enough to be copied by several threads: 3 folders of 100 files (every 7th 0755), a hard-linked
        // pair across folders, distinct mtimes on files and folders.
        for (var dir = 0; dir < 3; dir++)
        {
            var folder = Path.Combine(d, "many", $"d{dir}");
            System.IO.Directory.CreateDirectory(folder);
            for (var i = 0; i < 100; i++)
            {
                var file = Path.Combine(folder, $"f{i:D3}");
                File.WriteAllText(file, $"{dir}/{i}");
                if (i % 7 == 0) Run("chmod", "755", file);
                File.SetLastWriteTimeUtc(file, ManyEpoch.AddSeconds(dir * 1000 + i).UtcDateTime);
            }
        }
        Run("ln", Path.Combine(d, "many/d0/f050"), Path.Combine(d, "many/d2/z-link"));
        for (var dir = 0; dir < 3; dir++)
            System.IO.Directory.SetLastWriteTimeUtc(Path.Combine(d, "many", $"d{dir}"), ManyEpoch.AddDays(dir + 1).UtcDateTime);
        File.WriteAllText(Path.Combine(d, "owned.txt"), "owned by 1234 on disk");
        Run("chown", "1234:1234", Path.Combine(d, "owned.txt"));
        File.WriteAllText(Path.Combine(d, "fake.tar.gz"), "not really an archive");
        File.WriteAllText(Path.Combine(Root, "outside.txt"), "outside the context");
        File.CreateSymbolicLink(Path.Combine(d, "escape-absolute"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(d, "escape-relative"), "../outside.txt");
        File.CreateSymbolicLink(Path.Combine(d, "inside-link"), "dir/x.txt");

        var archiveSource = Path.Combine(Root, "archive-src");
        System.IO.Directory.CreateDirectory(Path.Combine(archiveSource, "top"));
        File.WriteAllText(Path.Combine(archiveSource, "top/inner.txt"), "inner");
        Run("tar", "-cf", Path.Combine(d, "app.tar"), "-C", archiveSource, "top");
        File.WriteAllText(Path.Combine(archiveSource, ".wh.kept"), "plain file");
        Run("tar", "-cf", Path.Combine(d, "odd.tar"), "-P", "-C", archiveSource, ".wh.kept", "/" + Path.Combine(archiveSource.TrimStart('/'), "top/inner.txt"));
        Run("sh", "-c", $"cd {d} && gzip -k -c app.tar > app.tgz && bzip2 -k -c app.tar > app.tbz && xz -k -c app.tar > app.txz && zstd -q -c app.tar > app.tzst");
    }

    /// <summary>The mtimes of the "many" tree count from here.</summary>
    public static readonly DateTimeOffset ManyEpoch = DateTimeOffset.FromUnixTimeSeconds(1_600_000_000);

    public string Root { get; }
    public string Directory { get; }

    internal static void Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {error}");
    }

    public void Dispose() => System.IO.Directory.Delete(Root, recursive: true);
}
