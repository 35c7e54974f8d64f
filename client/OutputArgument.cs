namespace BuildFarm.Client;

/// <summary>
/// One <c>--output</c>/<c>-o</c> value as the managed CLI reads it (cli/Commands/BuildArguments.cs ParseOutput): CSV with
/// type= (oci, docker, local, tar, image, registry) and dest= made absolute here, or a bare PATH meaning type=local.
/// Input the managed CLI would refuse yields null, so that it refuses it with its own words.
/// </summary>
public sealed record OutputArgument(string Type, IReadOnlyDictionary<string, string> Attrs)
{
    /// <summary>type=docker without dest: a load into the docker daemon, as buildx.</summary>
    public bool IsLoad => Type == "docker" && !Attrs.ContainsKey("dest");

    public static OutputArgument? TryParse(string value)
    {
        if (value == "-") return null;
        if (!value.Contains('='))
            return new OutputArgument("local", new Dictionary<string, string> { ["dest"] = Path.GetFullPath(value) });
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) fields[part] = "";
            else fields[part[..eq]] = part[(eq + 1)..];
        }
        if (!fields.Remove("type", out var type)) return null;
        if (type is not ("oci" or "docker" or "local" or "tar" or "image" or "registry")) return null;
        if (type is "oci" or "local" or "tar" && !fields.ContainsKey("dest")) return null;
        if (fields.TryGetValue("dest", out var dest))
        {
            if (dest == "-" && type is not ("oci" or "docker" or "tar")) return null;
            fields["dest"] = dest == "-" ? dest : Path.GetFullPath(dest);
        }
        return new OutputArgument(type, fields);
    }
}
