using BuildFarm.Oci;

namespace BuildFarm.Coordinator.CacheIo;

/// <summary>A cache config and the layer blobs it names, in the config's layer order.</summary>
public sealed record CollectedCache(CacheConfig Config, IReadOnlyList<Descriptor> Layers);
