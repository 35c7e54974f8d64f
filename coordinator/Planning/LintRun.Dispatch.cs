using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Lint;
using BuildFarm.Coordinator.Dockerfile.Shell;
using System.Text.RegularExpressions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>The checks BuildKit makes while dispatching a stage's instructions (convert.go's dispatch* functions).</summary>
internal sealed partial class LintRun
{
    // BuildKit's SecretsUsedInArgOrEnv: a secret-like word as the whole name or its first/last _-separated word, unless an
    // allowed word is too.
    [GeneratedRegex("(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)")]
    private static partial Regex SecretName();

    [GeneratedRegex("(?i)(?:_|^)(?:public|file|version)(?:_|$)")]
    private static partial Regex AllowedName();

    private LintStageState DispatchStage(Stage stage, string? baseName, LintStageState?[] states, List<KeyValuePair<string, string>> globalEnv,
        LintOptions fileOptions)
    {
        // Only an earlier stage can be a base (the last of that name), as the planner has it.
        var baseStage = baseName is null ? null
            : _file.Stages.Take(stage.Index).LastOrDefault(s => s.Name.Length > 0 && s.Name == baseName);
        LintStageState state;
        if (baseStage is not null && states[baseStage.Index] is { } inherited)
        {
            state = inherited.Inherit();
        }
        else
        {
            state = new LintStageState();
            var env = baseName is not null && baseStage is null && inputs.Plan.BaseImages.TryGetValue(baseName, out var image)
                ? image.Env
                : [];
            // BuildKit makes sure PATH is always set (scratch included), as the planner does
            foreach (var entry in env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)) ? env : env.Concat(ImageConfigState.DefaultEnv))
            {
                var eq = entry.IndexOf('=');
                state.SetEnv(eq < 0 ? entry : entry[..eq], eq < 0 ? "" : entry[(eq + 1)..]);
            }
        }
        var global = ShellEnvironment.FromPairs(globalEnv);
        foreach (var instruction in stage.Instructions)
            Dispatch(state, instruction, global, fileOptions.WithComments(instruction.Comments));
        return state;
    }

    private void Dispatch(LintStageState state, Instruction instruction, ShellEnvironment global, LintOptions options)
    {
        var expanded = instruction;
        if (instruction is IExpandableInstruction expandable and not ArgInstruction)
        {
            try
            {
                expanded = expandable.Expand(word => ExpandReporting(word, state, instruction, options));
            }
            catch (DockerfileException)
            {
                return; // the build fails on this instruction with its own error
            }
        }

        switch (expanded)
        {
            case EnvInstruction env:
                foreach (var pair in env.Env)
                {
                    if (pair.NoDelim)
                        Report(options, LintRules.LegacyKeyValueFormat, instruction.Location, LintRules.LegacyKeyValueFormatMessage(instruction.Name));
                    CheckSecretName("ENV", pair.Key, instruction.Location, options);
                    state.SetEnv(pair.Key, pair.Value);
                }
                break;
            case LabelInstruction label:
                foreach (var pair in label.Labels.Where(p => p.NoDelim))
                    Report(options, LintRules.LegacyKeyValueFormat, instruction.Location, LintRules.LegacyKeyValueFormatMessage(instruction.Name));
                break;
            case CmdInstruction cmd:
                state.Cmd = UsedOnce(state.Cmd, instruction, options);
                CheckJsonArgs(state, cmd.Command, instruction, options);
                break;
            case EntrypointInstruction entrypoint:
                state.Entrypoint = UsedOnce(state.Entrypoint, instruction, options);
                CheckJsonArgs(state, entrypoint.Command, instruction, options);
                break;
            case HealthcheckInstruction:
                state.Healthcheck = UsedOnce(state.Healthcheck, instruction, options);
                break;
            case WorkdirInstruction workdir:
                // Only the first WORKDIR of the build's chain counts: fixing it fixes the relative ones after it.
                if (!state.WorkdirSet && !workdir.Path.StartsWith('/'))
                    Report(options, LintRules.WorkdirRelativePath, instruction.Location, LintRules.WorkdirRelativePathMessage(workdir.Path));
                state.WorkdirSet = true;
                break;
            case ShellInstruction:
                state.ShellSet = true;
                break;
            case ExposeInstruction expose:
                CheckExpose(state, expose, options);
                break;
            case ArgInstruction arg:
                DispatchArg(state, arg, global, options);
                break;
            case CopyInstruction copy when copy.From.Length == 0:
                foreach (var source in copy.SourcePaths)
                    CheckIgnoredSource("Copy", source, instruction.Location, options);
                break;
            case AddInstruction add:
                foreach (var source in add.SourcePaths.Where(s => !IsRemote(s)))
                    CheckIgnoredSource("Add", source, instruction.Location, options);
                break;
        }
    }

    private string ExpandReporting(string word, LintStageState state, Instruction instruction, LintOptions options)
    {
        var env = ShellEnvironment.FromPairs(state.Env);
        var result = _lexer.ProcessWordWithMatches(word, env);
        foreach (var name in result.Unmatched.Where(n => !state.BuildArgs.Contains(n) && !NonEnvArgs.Contains(n)).Order(StringComparer.Ordinal))
            Report(options, LintRules.UndefinedVar, instruction.Location, LintRules.UndefinedVarMessage(name, Suggest.Closest(name, env.Keys)));
        return result.Result;
    }

    private void DispatchArg(LintStageState state, ArgInstruction arg, ShellEnvironment global, LintOptions options)
    {
        foreach (var def in arg.Args)
        {
            CheckSecretName("ARG", def.Key, arg.Location, options);
            string? value;
            if (inputs.Plan.BuildArgs.TryGetValue(def.Key, out var given))
                value = given;
            else if (def.Value is not null)
            {
                try
                {
                    value = ExpandReporting(def.Value, state, arg, options);
                }
                catch (DockerfileException)
                {
                    return;
                }
            }
            else
                value = global.TryGet(def.Key, out var inherited) ? inherited : null; // a global ARG redeclared without a value
            if (value is not null && !NonEnvArgs.Contains(def.Key))
                state.SetEnv(def.Key, value);
            state.BuildArgs.Add(def.Key);
        }
    }

    private SourceLocation UsedOnce(SourceLocation? previous, Instruction instruction, LintOptions options)
    {
        // BuildKit points at the earlier one: that is the instruction that has no effect.
        if (previous is not null)
            Report(options, LintRules.MultipleInstructionsDisallowed, previous, LintRules.MultipleInstructionsDisallowedMessage(instruction.Name));
        return instruction.Location;
    }

    private void CheckJsonArgs(LintStageState state, ShellDependentCommand command, Instruction instruction, LintOptions options)
    {
        // With a SHELL the user chose how the command runs; without, /bin/sh -c does not pass signals on.
        if (command.PrependShell && !state.ShellSet)
            Report(options, LintRules.JsonArgsRecommended, instruction.Location, LintRules.JsonArgsRecommendedMessage(instruction.Name));
    }

    private void CheckSecretName(string instruction, string key, SourceLocation location, LintOptions options)
    {
        if (SecretName().IsMatch(key) && !AllowedName().IsMatch(key))
            Report(options, LintRules.SecretsUsedInArgOrEnv, location, LintRules.SecretsUsedInArgOrEnvMessage(instruction, key));
    }

    private void CheckExpose(LintStageState state, ExposeInstruction expose, LintOptions options)
    {
        var env = ShellEnvironment.FromPairs(state.Env);
        foreach (var word in expose.Ports)
        {
            IReadOnlyList<string> ports;
            try
            {
                ports = _lexer.ProcessWords(word, env);
            }
            catch (DockerfileException)
            {
                return;
            }
            foreach (var raw in ports)
            {
                // [ip:][hostPort:]containerPort[/proto], split as BuildKit's splitParts/splitProtoPort
                var parts = raw.Split(':');
                var (ip, hostPort, containerPort) = parts.Length switch
                {
                    1 => ("", "", parts[0]),
                    2 => ("", parts[0], parts[1]),
                    _ => (string.Join(':', parts[..^2]), parts[^2], parts[^1]),
                };
                var slash = containerPort.IndexOf('/');
                var port = slash < 0 ? containerPort : containerPort[..slash];
                var proto = slash < 0 ? "" : containerPort[(slash + 1)..];
                if (port.Length == 0 || proto.ToLowerInvariant() is not ("" or "tcp" or "udp" or "sctp"))
                    return; // an invalid port fails the build before BuildKit lints it
                if (proto != proto.ToLowerInvariant())
                    Report(options, LintRules.ExposeProtoCasing, expose.Location, LintRules.ExposeProtoCasingMessage(raw));
                if (ip.Length > 0 || hostPort.Length > 0)
                    Report(options, LintRules.ExposeInvalidFormat, expose.Location, LintRules.ExposeInvalidFormatMessage(raw));
            }
        }
    }

    private void CheckIgnoredSource(string command, string source, SourceLocation location, LintOptions options)
    {
        // With exclusions (!pattern) a file under an excluded folder may be back in: BuildKit does not guess, nor do we.
        if (inputs.Ignore is not { Exclusions: false } ignore) return;
        var path = GoPath.Clean(source.Replace('\\', '/'));
        if ((path == "." || path == "/") && !RootIgnored(ignore)) return;
        if (ignore.MatchesOrParentMatches(path))
            Report(options, LintRules.CopyIgnoredFile, location, LintRules.CopyIgnoredFileMessage(command, path));
    }

    private static bool RootIgnored(PatternMatcher ignore) =>
        ignore.Patterns.Any(p => !p.Exclusion && p.CleanedPattern is "*" or "**" or "**/*");

    private static bool IsRemote(string source) =>
        source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        || source.StartsWith("git@", StringComparison.Ordinal) || source.StartsWith("git://", StringComparison.Ordinal);
}
