namespace BuildFarm.Oci.Layers;

/// <summary>How a layer tar is extracted onto a directory.</summary>
public sealed record LayerApplyOptions
{
    /// <summary>
    /// <see cref="WhiteoutTranslation.None"/>: whiteouts delete what lower layers put in the same directory (a flattened
    /// rootfs). <see cref="WhiteoutTranslation.Overlay"/>: each layer goes to its own directory and whiteouts become
    /// overlayfs char devices 0/0 and <c>trusted.overlay.opaque=y</c>, ready to be an overlay lowerdir.
    /// </summary>
    public WhiteoutTranslation Whiteouts { get; init; } = WhiteoutTranslation.None;

    /// <summary>Apply the tar's uid/gid (needs root); otherwise files belong to the extracting user.</summary>
    public bool PreserveOwnership { get; init; } = Environment.IsPrivilegedProcess;

    /// <summary>Apply the tar's extended attributes (SCHILY.xattr.*).</summary>
    public bool ApplyXattrs { get; init; } = true;

    /// <summary>
    /// False for archives that are not layers (ADD of a user's tarball): <c>.wh.</c> entries are then ordinary files,
    /// as Docker and BuildKit extract them.
    /// </summary>
    public bool HonorWhiteouts { get; init; } = true;

    /// <summary>
    /// Read absolute entry names ("/", "/etc/x") as relative to the root, as containerd and Docker's ADD do: some
    /// layer writers (umoci insert) emit them. False refuses them.
    /// </summary>
    public bool AbsoluteNamesRelativeToRoot { get; init; } = true;

    public static LayerApplyOptions Default { get; } = new();
}
