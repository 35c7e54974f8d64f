using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Parse-tree node → typed instruction, with BuildKit's argument checks and messages.</summary>
public static partial class InstructionParser
{
    private static readonly string[] AllInstructionNames =
        ["ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"];

    [GeneratedRegex("^[a-z][a-z0-9-_.]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidStageName();

    [GeneratedRegex(@"^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex OnbuildPrefix();

    /// <summary>
    /// Converts one instruction node (a child of the parse root) to its typed record.
    /// </summary>
    /// <exception cref="DockerfileException">with the node's position, when the instruction is invalid.</exception>
    public static Instruction ParseInstruction(Node node, string fileName = "Dockerfile")
    {
        var location = new SourceLocation(fileName, node.StartLine, node.EndLine, node.Column);
        try
        {
            var req = new InstructionRequest(
                node.Value,
                NodeArgs(node),
                node.Heredocs,
                node.IsJson,
                new BuilderFlags(node.Flags),
                node.Original,
                location,
                node.PrevComment);
            return node.Value.ToLowerInvariant() switch
            {
                "env" => ParseEnv(req),
                "maintainer" => ParseMaintainer(req),
                "label" => ParseLabel(req),
                "add" => ParseAdd(req),
                "copy" => ParseCopy(req),
                "from" => ParseFrom(req),
                "onbuild" => ParseOnbuild(req),
                "workdir" => ParseWorkdir(req),
                "run" => ParseRun(req),
                "cmd" => ParseCmd(req),
                "healthcheck" => ParseHealthcheck(req),
                "entrypoint" => ParseEntrypoint(req),
                "expose" => ParseExpose(req),
                "user" => ParseUser(req),
                "volume" => ParseVolume(req),
                "stopsignal" => ParseStopSignal(req),
                "arg" => ParseArg(req),
                "shell" => ParseShell(req),
                _ => throw new DockerfileException(Suggest.Wrap($"unknown instruction: {node.Value}", node.Value, AllInstructionNames, caseSensitive: false)),
            };
        }
        catch (DockerfileException e) when (e.Line == 0)
        {
            throw e.At(fileName, node.StartLine, node.Column, node.EndLine);
        }
    }

    /// <summary>Argument values; an ONBUILD's nested trigger contributes its keyword then its arguments.</summary>
    private static List<string> NodeArgs(Node node)
    {
        var result = new List<string>();
        for (var arg = node.Next; arg != null; arg = arg.Next)
        {
            if (arg.Children.Count == 0)
            {
                result.Add(arg.Value);
            }
            else if (arg.Children.Count == 1)
            {
                result.Add(arg.Children[0].Value);
                result.AddRange(NodeArgs(arg.Children[0]));
            }
        }
        return result;
    }

    private static T Base<T>(T instruction, InstructionRequest req) where T : Instruction => instruction with
    {
        Name = req.Command,
        SourceCode = GoText.TrimSpace(req.Original),
        Location = req.Location,
        Comments = req.Comments,
    };

    private static List<KeyValue> ParseKvps(List<string> args, string command)
    {
        if (args.Count == 0)
        {
            throw ErrAtLeastOneArgument(command);
        }
        if (args.Count % 3 != 0)
        {
            throw new DockerfileException($"Bad input to {command}, too many arguments");
        }
        var result = new List<KeyValue>();
        for (var j = 0; j < args.Count; j += 3)
        {
            if (args[j].Length == 0)
            {
                throw new DockerfileException($"{command} names can not be blank");
            }
            result.Add(new KeyValue(args[j], args[j + 1], args[j + 2].Length == 0));
        }
        return result;
    }

    private static EnvInstruction ParseEnv(InstructionRequest req)
    {
        req.Flags.Parse();
        return Base(new EnvInstruction(ParseKvps(req.Args, "ENV")), req);
    }

    private static MaintainerInstruction ParseMaintainer(InstructionRequest req)
    {
        if (req.Args.Count != 1)
        {
            throw ErrExactlyOneArgument("MAINTAINER");
        }
        req.Flags.Parse();
        return Base(new MaintainerInstruction(req.Args[0]), req);
    }

    private static LabelInstruction ParseLabel(InstructionRequest req)
    {
        req.Flags.Parse();
        return Base(new LabelInstruction(ParseKvps(req.Args, "LABEL")), req);
    }

    private static (List<string> Paths, List<SourceContent> Contents, string Dest) SourcesAndDest(InstructionRequest req, string command)
    {
        var dest = req.Args[^1];
        if (HeredocParser.TryParseHeredoc(dest) != null)
        {
            throw new DockerfileException($"{command} cannot accept a heredoc as a destination");
        }
        var lookup = new Dictionary<string, Heredoc>(StringComparer.Ordinal);
        foreach (var h in req.Heredocs)
        {
            lookup[h.Name] = h;
        }
        var paths = new List<string>();
        var contents = new List<SourceContent>();
        foreach (var src in req.Args.Take(req.Args.Count - 1))
        {
            var heredoc = HeredocParser.TryParseHeredoc(src);
            if (heredoc == null)
            {
                paths.Add(src);
                continue;
            }
            var content = lookup.TryGetValue(heredoc.Name, out var found) ? found.Content : "";
            if (heredoc.Chomp)
            {
                content = HeredocParser.ChompHeredocContent(content);
            }
            contents.Add(new SourceContent(heredoc.Name, content, heredoc.Expand));
        }
        return (paths, contents, dest);
    }

    private static AddInstruction ParseAdd(InstructionRequest req)
    {
        if (req.Args.Count < 2)
        {
            throw ErrNoDestination("ADD");
        }
        var chown = req.Flags.AddString("chown", "");
        var chmod = req.Flags.AddString("chmod", "");
        var link = req.Flags.AddBool("link", false);
        var keepGitDir = req.Flags.AddBool("keep-git-dir", false);
        var checksum = req.Flags.AddString("checksum", "");
        var unpack = req.Flags.AddBool("unpack", false);
        var excludes = req.Flags.AddStrings("exclude");
        req.Flags.Parse();
        var (paths, contents, dest) = SourcesAndDest(req, "ADD");
        return Base(new AddInstruction
        {
            SourcePaths = paths,
            SourceContents = contents,
            DestPath = dest,
            Chown = chown.Value,
            Chmod = chmod.Value,
            Link = link.IsTrue,
            KeepGitDir = req.Flags.IsUsed("keep-git-dir") ? keepGitDir.IsTrue : null,
            Checksum = checksum.Value,
            Unpack = req.Flags.IsUsed("unpack") ? unpack.IsTrue : null,
            ExcludePatterns = excludes.StringValues.ToArray(),
            IsJson = req.IsJson,
        }, req);
    }

    private static CopyInstruction ParseCopy(InstructionRequest req)
    {
        if (req.Args.Count < 2)
        {
            throw ErrNoDestination("COPY");
        }
        var chown = req.Flags.AddString("chown", "");
        var from = req.Flags.AddString("from", "");
        var chmod = req.Flags.AddString("chmod", "");
        var link = req.Flags.AddBool("link", false);
        var excludes = req.Flags.AddStrings("exclude");
        var parents = req.Flags.AddBool("parents", false);
        req.Flags.Parse();
        var (paths, contents, dest) = SourcesAndDest(req, "COPY");
        return Base(new CopyInstruction
        {
            SourcePaths = paths,
            SourceContents = contents,
            DestPath = dest,
            From = from.Value,
            Chown = chown.Value,
            Chmod = chmod.Value,
            Link = link.IsTrue,
            Parents = parents.IsTrue,
            ExcludePatterns = excludes.StringValues.ToArray(),
            IsJson = req.IsJson,
        }, req);
    }

    private static FromInstruction ParseFrom(InstructionRequest req)
    {
        var stageName = "";
        if (req.Args.Count == 3 && req.Args[1].Equals("as", StringComparison.OrdinalIgnoreCase))
        {
            stageName = req.Args[2].ToLowerInvariant();
            if (!ValidStageName().IsMatch(stageName))
            {
                throw new DockerfileException($"invalid name for build stage: {GoQuote.Quote(req.Args[2])}, name can't start with a number or contain symbols");
            }
        }
        else if (req.Args.Count != 1)
        {
            throw new DockerfileException("FROM requires either one or three arguments");
        }
        var platform = req.Flags.AddString("platform", "");
        req.Flags.Parse();
        return Base(new FromInstruction(req.Args[0], stageName, platform.Value, DocComment(req.Comments, stageName))
        , req);
    }

    private static OnbuildInstruction ParseOnbuild(InstructionRequest req)
    {
        if (req.Args.Count == 0)
        {
            throw ErrAtLeastOneArgument("ONBUILD");
        }
        req.Flags.Parse();
        var trigger = GoText.TrimSpace(req.Args[0]).ToUpperInvariant();
        switch (trigger)
        {
            case "ONBUILD":
                throw new DockerfileException("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
            case "MAINTAINER" or "FROM":
                throw new DockerfileException($"{trigger} isn't allowed as an ONBUILD trigger");
        }
        var expression = OnbuildPrefix().Replace(req.Original, "", 1);
        if (req.Heredocs.Count > 0)
        {
            var sb = new StringBuilder(expression);
            foreach (var h in req.Heredocs)
            {
                sb.Append('\n').Append(h.Content).Append(h.Name);
            }
            expression = sb.ToString();
        }
        return Base(new OnbuildInstruction(expression), req);
    }

    private static WorkdirInstruction ParseWorkdir(InstructionRequest req)
    {
        if (req.Args.Count != 1)
        {
            throw ErrExactlyOneArgument("WORKDIR");
        }
        req.Flags.Parse();
        return Base(new WorkdirInstruction(req.Args[0]), req);
    }

    private static ShellDependentCommand ShellDependent(InstructionRequest req)
    {
        var files = req.Heredocs.Select(h => new ShellInlineFile(h.Name, h.Content, h.Chomp)).ToArray();
        return new ShellDependentCommand(HandleJsonArgs(req.Args, req.IsJson), files, !req.IsJson);
    }

    /// <summary>Exec form keeps the list; shell form joins the words with single spaces.</summary>
    public static IReadOnlyList<string> HandleJsonArgs(IReadOnlyList<string> args, bool isJson)
    {
        if (args.Count == 0)
        {
            return [];
        }
        return isJson ? args.ToArray() : [string.Join(" ", args)];
    }

    private static RunInstruction ParseRun(InstructionRequest req)
    {
        var mountFlag = req.Flags.AddStrings("mount");
        var network = req.Flags.AddString("network", RunNetwork.Default);
        var security = req.Flags.AddString("security", RunSecurity.Sandbox);
        var device = req.Flags.AddStrings("device");
        req.Flags.Parse();
        var used = req.Flags.Used;
        var command = ShellDependent(req);
        var mounts = mountFlag.StringValues.Select(RunMountParser.ParseSpec).ToArray();
        if (!RunNetwork.IsValid(network.Value))
        {
            throw new DockerfileException($"invalid network mode {GoQuote.Quote(network.Value)}");
        }
        if (!RunSecurity.IsValid(security.Value))
        {
            throw new DockerfileException($"security {GoQuote.Quote(security.Value)} is not valid");
        }
        var devices = device.StringValues.Select(RunDevice.Parse).ToArray();
        return Base(new RunInstruction
        {
            Command = command,
            Mounts = mounts,
            Network = network.Value,
            Security = security.Value,
            Devices = devices,
            FlagsUsed = used,
        }, req);
    }

    private static CmdInstruction ParseCmd(InstructionRequest req)
    {
        req.Flags.Parse();
        return Base(new CmdInstruction(ShellDependent(req)), req);
    }

    private static EntrypointInstruction ParseEntrypoint(InstructionRequest req)
    {
        req.Flags.Parse();
        return Base(new EntrypointInstruction(ShellDependent(req)), req);
    }

    /// <summary>A HEALTHCHECK duration: "" or 0 means default; otherwise at least 1ms.</summary>
    public static TimeSpan ParseOptInterval(string flagName, string value)
    {
        if (value.Length == 0)
        {
            return TimeSpan.Zero;
        }
        var nanos = GoParse.DurationNanos(value) ?? throw new DockerfileException($"time: invalid duration {GoQuote.Quote(value)}");
        if (nanos == 0)
        {
            return TimeSpan.Zero;
        }
        if (nanos < 1_000_000)
        {
            throw new DockerfileException($"Interval {GoQuote.Quote(flagName)} cannot be less than 1ms");
        }
        return TimeSpan.FromTicks(nanos / 100);
    }

    private static HealthcheckInstruction ParseHealthcheck(InstructionRequest req)
    {
        if (req.Args.Count == 0)
        {
            throw ErrAtLeastOneArgument("HEALTHCHECK");
        }
        var type = req.Args[0].ToUpperInvariant();
        var args = req.Args.Skip(1).ToArray();
        HealthConfig health;
        if (type == "NONE")
        {
            if (args.Length != 0)
            {
                throw new DockerfileException("HEALTHCHECK NONE takes no arguments");
            }
            health = new HealthConfig([type]);
        }
        else
        {
            var interval = req.Flags.AddString("interval", "");
            var timeout = req.Flags.AddString("timeout", "");
            var startPeriod = req.Flags.AddString("start-period", "");
            var startInterval = req.Flags.AddString("start-interval", "");
            var retries = req.Flags.AddString("retries", "");
            req.Flags.Parse();
            if (type != "CMD")
            {
                throw new DockerfileException($"Unknown type {GoQuote.Quote(type)} in HEALTHCHECK (try CMD)");
            }
            var cmd = HandleJsonArgs(args, req.IsJson);
            if (cmd.Count == 0)
            {
                throw new DockerfileException("Missing command after HEALTHCHECK CMD");
            }
            var test = new List<string> { req.IsJson ? "CMD" : "CMD-SHELL" };
            test.AddRange(cmd);
            var retryCount = 0;
            if (retries.Value.Length > 0)
            {
                retryCount = GoParse.Int32(retries.Value)
                    ?? throw new DockerfileException($"strconv.ParseInt: parsing {GoQuote.Quote(retries.Value)}: invalid syntax");
                if (retryCount < 0)
                {
                    throw new DockerfileException($"--retries cannot be negative ({retryCount.ToString(CultureInfo.InvariantCulture)})");
                }
            }
            health = new HealthConfig(
                test,
                ParseOptInterval("interval", interval.Value),
                ParseOptInterval("timeout", timeout.Value),
                ParseOptInterval("start-period", startPeriod.Value),
                ParseOptInterval("start-interval", startInterval.Value),
                retryCount);
        }
        return Base(new HealthcheckInstruction(health), req);
    }

    private static ExposeInstruction ParseExpose(InstructionRequest req)
    {
        if (req.Args.Count == 0)
        {
            throw ErrAtLeastOneArgument("EXPOSE");
        }
        req.Flags.Parse();
        var ports = req.Args.ToArray();
        Array.Sort(ports, StringComparer.Ordinal);
        return Base(new ExposeInstruction(ports), req);
    }

    private static UserInstruction ParseUser(InstructionRequest req)
    {
        if (req.Args.Count != 1)
        {
            throw ErrExactlyOneArgument("USER");
        }
        req.Flags.Parse();
        return Base(new UserInstruction(req.Args[0]), req);
    }

    private static VolumeInstruction ParseVolume(InstructionRequest req)
    {
        if (req.Args.Count == 0)
        {
            throw ErrAtLeastOneArgument("VOLUME");
        }
        req.Flags.Parse();
        var volumes = new List<string>();
        foreach (var v in req.Args)
        {
            var trimmed = GoText.TrimSpace(v);
            if (trimmed.Length == 0)
            {
                throw new DockerfileException("VOLUME specified can not be an empty string");
            }
            volumes.Add(trimmed);
        }
        return Base(new VolumeInstruction(volumes), req);
    }

    private static StopSignalInstruction ParseStopSignal(InstructionRequest req)
    {
        // BuildKit does not parse STOPSIGNAL's flags at all.
        if (req.Args.Count != 1)
        {
            throw ErrExactlyOneArgument("STOPSIGNAL");
        }
        return Base(new StopSignalInstruction(req.Args[0]), req);
    }

    private static ArgInstruction ParseArg(InstructionRequest req)
    {
        if (req.Args.Count < 1)
        {
            throw ErrAtLeastOneArgument("ARG");
        }
        var pairs = new List<ArgDefinition>();
        foreach (var arg in req.Args)
        {
            var eq = arg.IndexOf('=');
            string key;
            string? value = null;
            if (eq >= 0)
            {
                key = arg[..eq];
                if (key.Length == 0)
                {
                    throw new DockerfileException("ARG names can not be blank");
                }
                value = arg[(eq + 1)..];
            }
            else
            {
                key = arg;
            }
            pairs.Add(new ArgDefinition(key, value, DocComment(req.Comments, key)));
        }
        return Base(new ArgInstruction(pairs), req);
    }

    private static ShellInstruction ParseShell(InstructionRequest req)
    {
        req.Flags.Parse();
        var shell = HandleJsonArgs(req.Args, req.IsJson);
        if (shell.Count == 0)
        {
            throw ErrAtLeastOneArgument("SHELL");
        }
        if (!req.IsJson)
        {
            throw new DockerfileException("SHELL requires the arguments to be in JSON form");
        }
        return Base(new ShellInstruction(shell), req);
    }

    /// <summary>The first comment line that starts with "name " (without that prefix), or "".</summary>
    internal static string DocComment(IReadOnlyList<string> comments, string name)
    {
        if (name.Length == 0)
        {
            return "";
        }
        foreach (var line in comments)
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return line[(name.Length + 1)..];
            }
        }
        return "";
    }

    private static DockerfileException ErrAtLeastOneArgument(string command) => new($"{command} requires at least one argument");

    private static DockerfileException ErrExactlyOneArgument(string command) => new($"{command} requires exactly one argument");

    private static DockerfileException ErrNoDestination(string command) =>
        new($"{command} requires at least two arguments, but only one was provided. Destination could not be determined");
}
