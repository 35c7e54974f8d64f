namespace BuildFarm.Oci.Layers;

/// <summary>How overlayfs whiteouts on disk relate to OCI <c>.wh.</c> entries in a tar.</summary>
public enum WhiteoutTranslation
{
    /// <summary>Files are taken (or written) as they are; a tar's whiteouts delete lower entries when applied.</summary>
    None,

    /// <summary>
    /// The directory is an overlayfs layer dir: char device 0/0 ↔ <c>.wh.name</c>, and
    /// <c>trusted.overlay.opaque=y</c> ↔ <c>.wh..wh..opq</c>.
    /// </summary>
    Overlay,
}
