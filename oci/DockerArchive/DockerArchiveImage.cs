using BuildFarm.Oci.Images;

namespace BuildFarm.Oci.DockerArchive;

/// <summary>
/// An image to put in, or read from, a Docker archive: its config bytes, and its layers as uncompressed tars
/// (in order, bottom first) whose digests are the config's diff ids.
/// </summary>
public sealed record DockerArchiveImage
{
    public required byte[] ConfigBytes { get; init; }
    public required IReadOnlyList<string> LayerTarPaths { get; init; }
    public IReadOnlyList<string> RepoTags { get; init; } = [];

    public ImageConfig Config => ImageConfig.Parse(ConfigBytes);
    public Digest ConfigDigest => Digest.Compute(ConfigBytes);
}
