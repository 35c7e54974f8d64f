namespace BuildFarm.Client;

/// <summary>
/// The <c>buildfarm build</c> command lines the native client takes itself: the flags of a build through the resident
/// engine (tags, args, labels, target, platform, cache flags, iid/metadata files, every progress mode, secrets, file
/// outputs and pushes, the token). Anything else — another verb, <c>--server</c>, <c>--load</c> into a daemon, a flag it
/// does not know, or input the managed CLI would refuse — yields null, and the managed CLI gets the same argv (so every
/// error is worded once, there).
/// </summary>
public sealed class BuildCommandLine
{
    private static readonly HashSet<string> ValueFlags =
        ["--file", "-f", "--tag", "-t", "--build-arg", "--target", "--label", "--progress", "--iidfile", "--metadata-file", "--platform", "--no-cache-filter",
         "--secret", "--output", "-o", "--token"];

    private static readonly HashSet<string> BoolFlags = ["--no-cache", "--pull", "--load", "--quiet", "-q", "--push"];

    public string Context { get; private set; } = "";
    public string? File { get; private set; }
    public List<string> Tags { get; } = [];
    public List<string> BuildArgs { get; } = [];
    public List<string> Labels { get; } = [];
    public List<string> NoCacheFilter { get; } = [];
    public string? Target { get; private set; }
    public string? Platform { get; private set; }
    public string Progress { get; private set; } = "auto";
    public string? IidFile { get; private set; }
    public string? MetadataFile { get; private set; }
    public bool NoCache { get; private set; }
    public bool Pull { get; private set; }
    public bool Quiet { get; private set; }
    public bool Push { get; private set; }

    /// <summary>--load: the image stays in the engine's store (as without it) when no docker daemon takes it; with a
    /// daemon the managed CLI loads it (see <see cref="TryParse"/>).</summary>
    public bool Load { get; private set; }

    /// <summary>--secret values as given (read when the spec is made).</summary>
    public List<string> Secrets { get; } = [];

    /// <summary>--output/-o values, parsed as the managed CLI parses them.</summary>
    public List<OutputArgument> Outputs { get; } = [];

    public string? Token { get; private set; }

    /// <summary>The parsed command line, or null with the reason when the managed CLI must take it.</summary>
    public static BuildCommandLine? TryParse(string[] args, out string why)
    {
        why = "";
        if (args.Length == 0 || args[0] != "build")
        {
            why = "not a build";
            return null;
        }
        var line = new BuildCommandLine();
        string? context = null;
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.Length > 1 && arg[0] == '-')
            {
                var eq = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=') : -1;
                var name = eq > 0 ? arg[..eq] : arg;
                if (BoolFlags.Contains(name))
                {
                    var value = eq > 0 ? arg[(eq + 1)..] : "true";
                    // "--no-cache false" would take "false" as the flag's value: the managed parser's call, not ours
                    if (eq < 0 && i + 1 < args.Length && args[i + 1] is "true" or "false")
                        return Refuse(out why, $"{name} {args[i + 1]}");
                    if (value is not ("true" or "false")) return Refuse(out why, arg);
                    line.SetBool(name, value == "true");
                    continue;
                }
                if (!ValueFlags.Contains(name)) return Refuse(out why, $"flag {name}");
                string flagValue;
                if (eq > 0) flagValue = arg[(eq + 1)..];
                else if (i + 1 < args.Length) flagValue = args[++i];
                else return Refuse(out why, $"{name} without a value");
                if (!line.SetValue(name, flagValue)) return Refuse(out why, $"{name} {flagValue}");
                continue;
            }
            if (arg.StartsWith('@')) return Refuse(out why, $"response file {arg}");
            if (context is not null) return Refuse(out why, $"a second context {arg}");
            context = arg;
        }
        if (context is null) return Refuse(out why, "no context");
        // --load (or -o type=docker without dest) into a docker daemon is the managed CLI's (docker load over its socket)
        if ((line.Load || line.Outputs.Any(o => o.IsLoad)) && DockerDaemonNamed()) return Refuse(out why, "--load into a docker daemon");
        // without a daemon both leave the image in the engine's store (said after the build), as the managed CLI does
        if (line.Outputs.RemoveAll(o => o.IsLoad) > 0) line.Load = true;
        line.Context = context;
        return line;
    }

    private static BuildCommandLine? Refuse(out string why, string what)
    {
        why = $"the managed CLI handles {what}";
        return null;
    }

    private void SetBool(string name, bool value)
    {
        switch (name)
        {
            case "--no-cache": NoCache = value; break;
            case "--pull": Pull = value; break;
            case "--quiet" or "-q": Quiet = value; break;
            case "--push": Push = value; break;
            case "--load": Load = value; break;
        }
    }

    private bool SetValue(string name, string value)
    {
        switch (name)
        {
            case "--file" or "-f": File = value; break;
            case "--tag" or "-t": Tags.Add(value); break;
            case "--build-arg": BuildArgs.Add(value); break;
            case "--label":
                if (value.IndexOf('=') <= 0) return false; // refused there, with its message
                Labels.Add(value);
                break;
            case "--no-cache-filter": NoCacheFilter.Add(value); break;
            case "--target": Target = value; break;
            case "--platform": Platform = value; break;
            case "--iidfile": IidFile = value; break;
            case "--metadata-file": MetadataFile = value; break;
            case "--secret": Secrets.Add(value); break;
            case "--token": Token = value; break;
            case "--output" or "-o":
                if (OutputArgument.TryParse(value) is not { } output) return false; // refused there, with its message
                Outputs.Add(output);
                break;
            case "--progress":
                if (value is not ("auto" or "tty" or "plain" or "rawjson" or "quiet")) return false; // refused there, with its message
                Progress = value;
                break;
        }
        return true;
    }

    /// <summary>Whether --load finds a docker daemon to load into (DOCKER_HOST, else /var/run/docker.sock), as the managed
    /// CLI's DockerEngineLoad looks for one.</summary>
    private static bool DockerDaemonNamed() =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } || System.IO.File.Exists("/var/run/docker.sock");
}
