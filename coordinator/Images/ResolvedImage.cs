using BuildFarm.Oci.Images;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Images;

/// <summary>A base image pinned to its manifest digest, with its config and layers (all in the content store).</summary>
public sealed record ResolvedImage(string Reference, string ManifestDigest, ImageConfig Config, IReadOnlyList<LayerRef> Layers);
