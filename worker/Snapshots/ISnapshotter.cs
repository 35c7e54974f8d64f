namespace BuildFarm.Worker.Snapshots;

/// <summary>
/// Turns a chain of layers into a filesystem a step can use (like containerd's snapshotter):
/// each layer is extracted once and the chain is stacked, with a fresh writable upper layer when asked.
/// </summary>
public interface ISnapshotter
{
    /// <summary>Whether the layer is already extracted here (schedulers prefer a worker that has the parent).</summary>
    bool HasLayer(BuildFarm.Oci.Digest diffId);

    /// <summary>Bytes of the extracted layers held here (a running total: cheap to ask often).</summary>
    long LocalBytes => 0;

    /// <summary>The diff ids of the extracted layers held here, most recently used first (for scheduling).</summary>
    IReadOnlyList<BuildFarm.Oci.Digest> LayersByRecentUse() => [];

    /// <summary>Deletes unused extracted layers, least recently used first, down to <paramref name="maxBytes"/>;
    /// returns the bytes freed.</summary>
    Task<long> PruneAsync(long maxBytes, CancellationToken cancellationToken);

    /// <summary>Mounts <paramref name="chain"/> (bottom first) writable; the writes land in <see cref="ActiveSnapshot.UpperPath"/>.</summary>
    Task<ActiveSnapshot> PrepareAsync(IReadOnlyList<LayerRef> chain, CancellationToken cancellationToken);

    /// <summary>Mounts <paramref name="chain"/> read-only (for COPY --from and bind mounts from another stage).</summary>
    Task<ActiveSnapshot> ViewAsync(IReadOnlyList<LayerRef> chain, CancellationToken cancellationToken);

    /// <summary>Unmounts a writable snapshot, leaving <see cref="ActiveSnapshot.UpperPath"/> for the differ to read.</summary>
    Task SealAsync(ActiveSnapshot snapshot, CancellationToken cancellationToken);

    /// <summary>Keeps a finished upper directory as the extracted snapshot of the layer <paramref name="layer"/>,
    /// so the next step on top of it needs no extraction. Unmounts <paramref name="snapshot"/>.
    /// <paramref name="regularFileBytes"/>: the upper's size when the caller knows it (the differ walked it), else measured.</summary>
    Task CommitAsync(ActiveSnapshot snapshot, LayerRef layer, CancellationToken cancellationToken, long? regularFileBytes = null);
}
