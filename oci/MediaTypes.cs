namespace BuildFarm.Oci;

/// <summary>OCI image-spec and Docker distribution media types.</summary>
public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerNonDistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string OciLayerNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string OciLayerNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";
    public const string OciLayoutHeader = "application/vnd.oci.layout.header.v1+json";
    public const string OciDescriptor = "application/vnd.oci.descriptor.v1+json";

    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd";
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string DockerPluginConfig = "application/vnd.docker.plugin.v1+json";

    public static bool IsManifest(string mediaType) => mediaType is OciManifest or DockerManifest;
    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;
    public static bool IsLayer(string mediaType) => mediaType.Contains(".layer.", StringComparison.Ordinal) || mediaType.Contains(".rootfs.", StringComparison.Ordinal);

    /// <summary>The OCI equivalent of a Docker schema2 media type (others are returned unchanged).</summary>
    public static string ToOci(string mediaType) => mediaType switch
    {
        DockerManifest => OciManifest,
        DockerManifestList => OciIndex,
        DockerConfig => OciConfig,
        DockerLayer => OciLayer,
        DockerLayerGzip => OciLayerGzip,
        DockerLayerZstd => OciLayerZstd,
        DockerForeignLayerGzip => OciLayerNonDistributableGzip,
        _ => mediaType,
    };
}
