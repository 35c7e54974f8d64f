namespace BuildFarm.Worker.Snapshots;

/// <summary>The kernel refused an overlay mount (no overlayfs, or an upper filesystem it cannot use).</summary>
internal sealed class OverlayUnavailableException(string message, Exception? inner) : IOException(message, inner);
