using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.FileOps;

/// <summary>Removes a path of any type without following symlinks; a missing path is fine.</summary>
internal static class TreeRemover
{
    public static void Remove(string path)
    {
        var stat = LinuxNative.LStat(path);
        if (stat is null) return;
        if (stat.Value.IsDirectory) Directory.Delete(path, recursive: true);
        else File.Delete(path);
    }
}
