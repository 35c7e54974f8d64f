using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Blobs that pruning must keep whatever the records say: typically the manifests of images a user named
/// (tags being exported, bases pinned by digest). Manifests and indexes among them keep their config and layers too.</summary>
public interface IPruneRoots
{
    IAsyncEnumerable<Digest> GetRootsAsync(CancellationToken cancellationToken);
}
