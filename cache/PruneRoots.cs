using System.Runtime.CompilerServices;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>A fixed list of roots (e.g. from <c>buildfarm cache prune --keep &lt;digest&gt;</c>).</summary>
public sealed class PruneRoots(IEnumerable<Digest> roots) : IPruneRoots
{
    public static PruneRoots None { get; } = new([]);

    public async IAsyncEnumerable<Digest> GetRootsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var root in roots)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return root;
        }
        await Task.CompletedTask;
    }
}
