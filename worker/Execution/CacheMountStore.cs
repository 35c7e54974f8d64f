using System.Security.Cryptography;
using System.Text;
using BuildFarm.Worker.FileOps;
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

    /// <summary>The directory to mount for <paramref name="mount"/>; dispose the lease after the run. With a
    /// <paramref name="seed"/>, the directory is keyed by the id and the seed's identity, and a new one starts with the
    /// seed's contents; an existing one is reused as it is (earlier runs' writes kept), as BuildKit does.</summary>
    public async Task<CacheMountLease> AcquireAsync(RunMount mount, CacheMountSeed? seed, CancellationToken cancellationToken)
    {
        var id = mount.Id ?? mount.Target ?? throw new ArgumentException("a cache mount needs a target");
        var key = seed is null ? id : id + ":" + seed.Identity;
        var name = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
        Directory.CreateDirectory(Root);
        switch (mount.Sharing)
        {
            case CacheSharing.Locked:
            {
                var path = Path.Combine(Root, name);
                var held = await FileLock.AcquireAsync(path + ".lock", cancellationToken);
                try
                {
                    return new CacheMountLease(await CreateAsync(path, mount, seed, cancellationToken), held);
                }
                catch
                {
                    held.Dispose();
                    throw;
                }
            }
            case CacheSharing.Private:
                // the first instance nobody is using; a busy cache gets a fresh sibling instead of waiting
                for (var i = 0; ; i++)
                {
                    var path = Path.Combine(Root, i == 0 ? name : $"{name}-{i}");
                    if (FileLock.TryAcquire(path + ".lock") is not { } held) continue;
                    try
                    {
                        return new CacheMountLease(await CreateAsync(path, mount, seed, cancellationToken), held);
                    }
                    catch
                    {
                        held.Dispose();
                        throw;
                    }
                }
            default:
                return new CacheMountLease(await CreateAsync(Path.Combine(Root, name), mount, seed, cancellationToken), null);
        }
    }

    private static async Task<string> CreateAsync(string path, RunMount mount, CacheMountSeed? seed, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path)) return path;
        var temp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            if (seed is not null)
            {
                await seed.FillAsync(temp, cancellationToken);
            }
            else
            {
                LinuxNative.LchownOrThrow(temp, mount.Uid ?? 0, mount.Gid ?? 0);
                LinuxNative.ChmodOrThrow(temp, mount.Mode ?? 0b111_101_101);
            }
            Directory.Move(temp, path);
        }
        catch (IOException) when (Directory.Exists(path))
        {
            TreeRemover.Remove(temp); // created concurrently: the first one stays
        }
        catch
        {
            TreeRemover.Remove(temp);
            throw;
        }
        return path;
    }
}
