namespace BuildFarm.Worker.Snapshots;

/// <summary>Unpacks one layer blob into an empty folder in overlayfs form (OCI whiteouts become
/// 0/0 character devices, opaque markers become the overlay opaque xattr) so it can serve as a lowerdir.</summary>
public interface ILayerUnpacker
{
    Task UnpackAsync(Stream blob, LayerRef layer, string targetDirectory, CancellationToken cancellationToken);
}
