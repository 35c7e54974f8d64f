using System.Diagnostics;
using BuildFarm.Oci.Native;

namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>The committed cases (read from the source tree, where the regeneration writes goldens) and their contexts.</summary>
public static class ConformanceCatalog
{
    public static string CasesFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var cases = Path.Combine(dir.FullName, "tests", "BuildFarm.IntegrationTests", "Conformance", "Cases");
                if (Directory.Exists(cases)) return cases;
            }
            throw new DirectoryNotFoundException("tests/BuildFarm.IntegrationTests/Conformance/Cases not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Every case, by name; BUILDFARM_CONFORMANCE_CASES=a,b limits the run to those (to iterate on a few).</summary>
    public static IReadOnlyList<ConformanceCase> Load()
    {
        var only = Environment.GetEnvironmentVariable("BUILDFARM_CONFORMANCE_CASES")?
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        return Directory.EnumerateDirectories(CasesFolder).Order(StringComparer.Ordinal)
            .Where(d => only is null || only.Contains(Path.GetFileName(d)))
            .Select(ConformanceCase.Load).ToList();
    }

    /// <summary>Copies the case's context into <paramref name="target"/> with modes fixed (0644, 0755 if executable: what a fresh
    /// clone has under umask 022), adds the busybox rootfs.tar where the Dockerfile wants it, and runs setup.sh there.</summary>
    public static async Task PrepareContextAsync(ConformanceCase testCase, string busyboxTar, string target, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(target);
        Copy(testCase.ContextFolder, target);
        if (testCase.UsesBusybox) File.Copy(busyboxTar, Path.Combine(target, "rootfs.tar"), overwrite: true);
        if (File.Exists(testCase.SetupScript))
        {
            var start = new ProcessStartInfo("/bin/sh") { WorkingDirectory = target, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-eu");
            start.ArgumentList.Add(testCase.SetupScript);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0) throw new InvalidOperationException($"conformance case {testCase.Name}: setup.sh exited {process.ExitCode}: {await stderr}");
        }
    }

    private static void Copy(string source, string target)
    {
        foreach (var dir in Directory.EnumerateDirectories(source))
        {
            var to = Path.Combine(target, Path.GetFileName(dir));
            Directory.CreateDirectory(to);
            Posix.Chmod(to, 0x1ED); // 0755
            Copy(dir, to);
        }
        foreach (var file in Directory.EnumerateFiles(source))
        {
            var to = Path.Combine(target, Path.GetFileName(file));
            File.Copy(file, to, overwrite: true);
            var executable = (Posix.LStat(file).Permissions & 0x40) != 0; // u+x
            Posix.Chmod(to, executable ? 0x1EDu : 0x1A4u); // 0755 or 0644
        }
    }
}
