namespace BuildFarm.Worker.FileOps;

/// <summary>Creates a uniquely named folder under a given parent (Directory.CreateTempSubdirectory only uses /tmp),
/// named <c>{prefix}{pid}-…</c> so the next start can remove it if this process dies (Snapshots.CrashLeftovers).</summary>
internal static class ScratchDirectory
{
    public static string Create(string parent, string prefix)
    {
        var path = Path.Combine(parent, $"{prefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..16]}");
        Directory.CreateDirectory(path);
        return path;
    }
}
