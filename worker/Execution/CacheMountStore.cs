using System.Security.Cryptography;
using System.Text;
using BuildFarm.Worker.Native;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.Worker.Execution;

/// <summary>RUN --mount=type=cache directories, kept per worker by id across steps and builds.
/// Folder names are hashes of the id so any id is a safe name.</summary>
public sealed class CacheMountStore(string root)
{
    // a cache folder being created by a process that died (.tmp-{pid}-…) is removed at the next start
    public string Root { get; } = Snapshots.CrashLeftovers.Swept(root);

    /// <summary>The directory to mount for <paramref name="mount"/>; dispose the lease after the run.</summary>
    public async Task<CacheMountLease> AcquireAsync(RunMount mount, CancellationToken cancellationToken)
    {
        var id = mount.Id ?? mount.Target ?? throw new ArgumentException("a cache mount needs a target");
        var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..32];
        Directory.CreateDirectory(Root);
        switch (mount.Sharing)
        {
            case CacheSharing.Locked:
            {
                var path = Path.Combine(Root, name);
                var held = await FileLock.AcquireAsync(path + ".lock", cancellationToken);
                return new CacheMountLease(Create(path, mount), held);
            }
            case CacheSharing.Private:
                // the first instance nobody is using; a busy cache gets a fresh sibling instead of waiting
                for (var i = 0; ; i++)
                {
                    var path = Path.Combine(Root, i == 0 ? name : $"{name}-{i}");
                    if (FileLock.TryAcquire(path + ".lock") is { } held) return new CacheMountLease(Create(path, mount), held);
                }
            default:
                return new CacheMountLease(Create(Path.Combine(Root, name), mount), null);
        }
    }

    private static string Create(string path, RunMount mount)
    {
        if (Directory.Exists(path)) return path;
        var temp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        LinuxNative.LchownOrThrow(temp, mount.Uid ?? 0, mount.Gid ?? 0);
        LinuxNative.ChmodOrThrow(temp, mount.Mode ?? 0b111_101_101);
        try { Directory.Move(temp, path); }
        catch (IOException) when (Directory.Exists(path)) { Directory.Delete(temp); } // created concurrently
        return path;
    }
}
