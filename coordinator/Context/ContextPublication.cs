using BuildFarm.Oci;

namespace BuildFarm.Coordinator.Context;

/// <summary>What publishing a context did: its manifest digest (the context's identity for workers), and how many
/// distinct blobs were already in the store or had to be uploaded.</summary>
public sealed record ContextPublication(Digest ManifestDigest, int BlobsPresent, int BlobsUploaded, long BytesUploaded);
