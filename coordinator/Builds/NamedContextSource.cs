namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// A <c>--build-context</c> value taken apart: a folder, <c>oci-layout://PATH[@digest|:tag]</c> (<see cref="Path"/> and the
/// <see cref="Suffix"/> that picks the image), <c>docker-image://REF</c> or <c>target:STAGE</c>. The client sends the
/// files of a folder or layout over the build's stream; the server puts the place it received them at in their stead.
/// </summary>
public sealed record NamedContextSource(NamedContextKind Kind, string Path, string Suffix)
{
    public const string LayoutScheme = "oci-layout://";
    public const string ImageScheme = "docker-image://";
    public const string StagePrefix = "target:";

    /// <summary>A folder or an OCI layout: files of the client's host.</summary>
    public bool HasFiles => Kind is NamedContextKind.Folder or NamedContextKind.OciLayout;

    public static NamedContextSource Parse(string value)
    {
        if (value.StartsWith(ImageScheme, StringComparison.Ordinal)) return new(NamedContextKind.Image, value[ImageScheme.Length..], "");
        if (value.StartsWith(StagePrefix, StringComparison.Ordinal)) return new(NamedContextKind.Stage, value[StagePrefix.Length..], "");
        if (!value.StartsWith(LayoutScheme, StringComparison.Ordinal)) return new(NamedContextKind.Folder, value, "");
        var rest = value[LayoutScheme.Length..];
        // PATH@sha256:… or PATH:tag (a colon followed by no slash); else the whole rest is the path
        var cut = rest.LastIndexOf('@') is var at and > 0 ? at
            : rest.LastIndexOf(':') is var colon and > 0 && !rest[(colon + 1)..].Contains('/') ? colon : rest.Length;
        return new(NamedContextKind.OciLayout, rest[..cut], rest[cut..]);
    }

    /// <summary>The same context at another place (the server's copy of the client's files).</summary>
    public string At(string path) => Kind == NamedContextKind.OciLayout ? LayoutScheme + path + Suffix : path;
}
