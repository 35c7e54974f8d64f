using BuildFarm.Oci;

namespace BuildFarm.Worker.Snapshots;

/// <summary>One layer of a parent chain: the blob as stored (compressed) and its uncompressed diff id.</summary>
public sealed record LayerRef(Descriptor Blob, Digest DiffId);
