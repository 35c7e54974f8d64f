using System.Text.RegularExpressions;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Coordinator.Planning;

/// <summary>Whether a <c>COPY --from</c> value that names no stage is an image reference, with the words of the reference
/// parser BuildKit uses (distribution's ParseNormalizedNamed), so that the refusal reads as BuildKit's.</summary>
internal static partial class ImageNameCheck
{
    /// <summary>Null when <paramref name="name"/> parses as an image reference; else the parser's message.</summary>
    public static string? Problem(string name)
    {
        if (HexIdentifier().IsMatch(name))
            return $"invalid repository name ({name}), cannot specify 64-byte hexadecimal strings";
        // docker.io unless the first component looks like a host (a dot, a colon, localhost, or upper case)
        var slash = name.IndexOf('/');
        var first = slash < 0 ? "" : name[..slash];
        var onHub = slash < 0 || (!first.Contains('.') && !first.Contains(':') && first != "localhost" && first.ToLowerInvariant() == first);
        var remainder = onHub ? name : name[(slash + 1)..];
        if (onHub && !remainder.Contains('/')) remainder = "library/" + remainder;
        var colon = remainder.IndexOf(':');
        var repository = colon < 0 ? remainder : remainder[..colon];
        if (repository.ToLowerInvariant() != repository)
            return $"invalid reference format: repository name ({repository}) must be lowercase";
        return ImageReference.TryParse(name, out _, out _) ? null : "invalid reference format";
    }

    [GeneratedRegex("^[a-f0-9]{64}$")]
    private static partial Regex HexIdentifier();
}
