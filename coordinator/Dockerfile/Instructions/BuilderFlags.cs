namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>
/// Instruction flag parsing with BuildKit's rules: declare the accepted flags, then
/// <see cref="Parse"/> the <c>--name[=value]</c> words. String flags need <c>=</c>; bool flags
/// accept bare, <c>=true</c>, <c>=false</c>; unknown or repeated (non-repeatable) flags fail;
/// <c>--</c> ends the flags.
/// </summary>
public sealed class BuilderFlags(IReadOnlyList<string> args)
{
    private readonly Dictionary<string, BuilderFlag> _flags = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _used = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Args { get; } = args;

    /// <summary>Names of the flags given (even when given their default), sorted.</summary>
    public IReadOnlyList<string> Used => _used.ToArray();

    public bool IsUsed(string name) => _used.Contains(name);

    public BuilderFlag AddBool(string name, bool defaultValue) => Add(name, BuilderFlagType.Bool, defaultValue ? "true" : "false");

    public BuilderFlag AddString(string name, string defaultValue) => Add(name, BuilderFlagType.String, defaultValue);

    public BuilderFlag AddStrings(string name) => Add(name, BuilderFlagType.Strings, "");

    private BuilderFlag Add(string name, BuilderFlagType type, string value)
    {
        if (_flags.ContainsKey(name))
        {
            throw new InvalidOperationException($"Duplicate flag defined: {name}");
        }
        var flag = new BuilderFlag(name, type) { Value = value };
        _flags[name] = flag;
        return flag;
    }

    /// <exception cref="DockerfileException">on an unknown, repeated or malformed flag.</exception>
    public void Parse()
    {
        foreach (var arg in Args)
        {
            if (arg == "--")
            {
                return;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new DockerfileException($"arg should start with -- : {arg}");
            }
            var eq = arg.IndexOf('=');
            var flagName = eq < 0 ? arg : arg[..eq];
            var value = eq < 0 ? "" : arg[(eq + 1)..];
            var hasValue = eq >= 0;
            var name = flagName[2..];
            if (!_flags.TryGetValue(name, out var flag))
            {
                throw new DockerfileException(Suggest.Wrap($"unknown flag: {flagName}", name, _flags.Keys));
            }
            if (_used.Contains(name) && flag.Type != BuilderFlagType.Strings)
            {
                throw new DockerfileException($"duplicate flag specified: {flagName}");
            }
            _used.Add(name);
            switch (flag.Type)
            {
                case BuilderFlagType.Bool:
                    if (hasValue && value.Length == 0)
                    {
                        throw new DockerfileException($"missing a value on flag: {flagName}");
                    }
                    flag.Value = value.ToLowerInvariant() switch
                    {
                        "true" or "" => "true",
                        "false" => "false",
                        _ => throw new DockerfileException($"expecting boolean value for flag {flagName}, not: {value}"),
                    };
                    break;
                case BuilderFlagType.String:
                    if (!hasValue)
                    {
                        throw new DockerfileException($"missing a value on flag: {flagName}");
                    }
                    flag.Value = value;
                    break;
                default:
                    if (!hasValue)
                    {
                        throw new DockerfileException($"missing a value on flag: {flagName}");
                    }
                    flag.StringValues.Add(value);
                    break;
            }
        }
    }
}
