using BuildFarm.Oci;

namespace BuildFarm.Coordinator.Export;

/// <summary>One platform's image within an <see cref="ExportedIndex"/>.</summary>
public sealed record PlatformImage(Platform Platform, ExportedImage Image);
