namespace BuildFarm.Coordinator.Planning;

/// <summary>An os/arch[/variant] build platform, normalised like containerd's platforms package for the common aliases.</summary>
public sealed record PlatformSpec(string Os, string Architecture, string Variant)
{
    public static PlatformSpec LinuxAmd64 { get; } = new("linux", "amd64", "");

    public override string ToString() => Variant.Length == 0 ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    public static PlatformSpec Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
            throw new FormatException($"invalid platform \"{text}\": expected os/arch[/variant], e.g. linux/amd64");
        var os = parts[0] == "macos" ? "darwin" : parts[0];
        var arch = parts[1];
        var variant = parts.Length == 3 ? parts[2] : "";
        switch (arch)
        {
            case "x86_64" or "x86-64":
                arch = "amd64";
                variant = variant == "v1" ? "" : variant;
                break;
            case "aarch64" or "arm64":
                arch = "arm64";
                variant = variant is "v8" or "8" ? "" : variant;
                break;
            case "armhf":
                arch = "arm";
                variant = "v7";
                break;
            case "armel":
                arch = "arm";
                variant = "v6";
                break;
            case "arm":
                variant = variant.Length == 0 ? "v7" : variant.StartsWith('v') ? variant : "v" + variant;
                break;
            case "i386" or "i686" or "x86":
                arch = "386";
                break;
        }
        return new PlatformSpec(os, arch, variant);
    }

    /// <summary>The platform this process runs natively (BUILDPLATFORM: where cross-compiling stages run).</summary>
    public static PlatformSpec Native { get; } = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => new("linux", "arm64", ""),
        System.Runtime.InteropServices.Architecture.Arm => new("linux", "arm", "v7"),
        System.Runtime.InteropServices.Architecture.X86 => new("linux", "386", ""),
        System.Runtime.InteropServices.Architecture.S390x => new("linux", "s390x", ""),
        System.Runtime.InteropServices.Architecture.Ppc64le => new("linux", "ppc64le", ""),
        System.Runtime.InteropServices.Architecture.RiscV64 => new("linux", "riscv64", ""),
        _ => LinuxAmd64,
    };

    /// <summary>Parses <c>--platform p1[,p2…]</c>: each named once, in the order given; empty text means linux/amd64.</summary>
    public static IReadOnlyList<PlatformSpec> ParseList(string text)
    {
        if (text.Trim().Length == 0) return [LinuxAmd64];
        var list = new List<PlatformSpec>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Length == 0) throw new FormatException($"invalid platform list \"{text}\": an empty entry between commas");
            var platform = Parse(part);
            if (list.Contains(platform)) throw new FormatException($"invalid platform list \"{text}\": {platform} is named twice");
            list.Add(platform);
        }
        return list;
    }

    /// <summary>The OCI form (descriptor/config platform).</summary>
    public Oci.Platform ToPlatform() => new() { Os = Os, Architecture = Architecture, Variant = Variant.Length > 0 ? Variant : null };

    /// <summary>The automatic platform ARGs (TARGET* for the target platform, BUILD* for the builder's).</summary>
    public static IReadOnlyDictionary<string, string> PlatformArgs(PlatformSpec target, PlatformSpec build) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["TARGETPLATFORM"] = target.ToString(),
        ["TARGETOS"] = target.Os,
        ["TARGETARCH"] = target.Architecture,
        ["TARGETVARIANT"] = target.Variant,
        ["BUILDPLATFORM"] = build.ToString(),
        ["BUILDOS"] = build.Os,
        ["BUILDARCH"] = build.Architecture,
        ["BUILDVARIANT"] = build.Variant,
    };
}
