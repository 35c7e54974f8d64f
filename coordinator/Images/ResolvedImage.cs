using BuildFarm.Oci.Images;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Images;

/// <summary>A base image pinned to its manifest digest, with its config and layers (all in the content store once
/// <see cref="Downloaded"/> completes).</summary>
public sealed record ResolvedImage(string Reference, string ManifestDigest, ImageConfig Config, IReadOnlyList<LayerRef> Layers)
{
    /// <summary>Completes when every layer is in the store; faults with the first download's error. Layers still on their
    /// way can already be read from the store (announced ingests): steps unpack them while they download.</summary>
    public Task Downloaded { get; init; } = Task.CompletedTask;
}
