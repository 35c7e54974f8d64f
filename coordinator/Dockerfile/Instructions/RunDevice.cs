namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>A <c>RUN --device=name[,required]</c> request (a CDI device name).</summary>
public sealed record RunDevice(string Name, bool Required)
{
    /// <summary>Parses the flag value: the first bare field or <c>name=</c> is the name; <c>required[=bool]</c>.</summary>
    public static RunDevice Parse(string value)
    {
        var fields = CsvFields.Parse(value, "failed to parse csv devices");
        var name = "";
        var required = false;
        foreach (var field in fields)
        {
            var eq = field.IndexOf('=');
            var key = (eq < 0 ? field : field[..eq]).ToLowerInvariant();
            var val = eq < 0 ? "" : field[(eq + 1)..];
            if (eq < 0)
            {
                if (key == "required")
                {
                    required = true;
                    continue;
                }
                if (name.Length == 0)
                {
                    name = field;
                    continue;
                }
                throw new DockerfileException($"invalid field '{field}' must be a key=value pair");
            }
            switch (key)
            {
                case "name":
                    if (name.Length != 0)
                    {
                        throw new DockerfileException($"device name already set to {name}");
                    }
                    name = val;
                    break;
                case "required":
                    required = GoParse.Bool(val) ?? throw new DockerfileException($"invalid value for {key}: {val}");
                    break;
                default:
                    if (name.Length == 0)
                    {
                        name = field;
                        continue;
                    }
                    throw new DockerfileException($"unexpected key '{key}' in '{field}'");
            }
        }
        return new RunDevice(name, required);
    }
}
