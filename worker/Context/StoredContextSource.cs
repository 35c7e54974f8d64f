using BuildFarm.Oci;

namespace BuildFarm.Worker.Context;

/// <summary>A context published to the content store (by manifest digest), materialized on this worker on demand.</summary>
public sealed class StoredContextSource(ContextMaterializer materializer, Digest manifest) : IContextSource
{
    public Digest Manifest { get; } = manifest;

    public Task<ContextLease> AcquireAsync(IReadOnlyList<string>? sources, CancellationToken cancellationToken) =>
        materializer.MaterializeAsync(Manifest, sources, cancellationToken);
}
