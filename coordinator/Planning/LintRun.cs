using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Lint;
using BuildFarm.Coordinator.Dockerfile.Shell;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Planning;

/// <summary>One check of one Dockerfile (see <see cref="DockerfileLinter"/>); rule by rule as BuildKit's validations.go and
/// convert.go call them, so that each fires on the same lines with the same words.</summary>
internal sealed partial class LintRun(ParseResult parsed, LintInputs inputs)
{
    private static readonly HashSet<string> ReservedStageNames = new(StringComparer.Ordinal) { "context", "scratch" };

    // BuildKit never puts these into a stage's environment, so they are never "undefined".
    private static readonly HashSet<string> NonEnvArgs = new(StringComparer.Ordinal) { "BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE" };

    private readonly List<LintWarning> _warnings = [];
    private readonly ShellLexer _lexer = new(parsed.EscapeToken);
    private readonly DockerfileStages _file = StageParser.ParseStages(parsed);

    public LintResult Run()
    {
        var options = inputs.Options;
        foreach (var warning in parsed.Warnings.Where(w => w.Url == LintRules.NoEmptyContinuation.Url))
            Report(options, LintRules.NoEmptyContinuation, warning.Line, warning.Line, LintRules.NoEmptyContinuationMessage());
        foreach (var node in parsed.Ast.Children)
            CheckParsedNode(node, options.WithComments(node.PrevComment));
        CheckStageNames(options);
        CheckCommandCasing(options);
        CheckBaseNamesWithDefaults(options);

        List<KeyValuePair<string, string>> globalEnv;
        HashSet<string> declared;
        try
        {
            (globalEnv, declared) = GlobalArgs(inputs.Plan.BuildArgs, withBuildArgs: true);
        }
        catch (DockerfileException)
        {
            // A meta ARG that does not expand fails planning, which names it; the stage checks need its value.
            return Finish(options);
        }
        var argKeys = declared.Concat(globalEnv.Select(e => e.Key)).ToHashSet(StringComparer.Ordinal);
        var states = new LintStageState?[_file.Stages.Count];
        var baseNames = new string?[_file.Stages.Count];
        foreach (var stage in _file.Stages)
            baseNames[stage.Index] = CheckFrom(stage, globalEnv, argKeys, options.WithComments(stage.Comments));
        foreach (var stage in _file.Stages)
        {
            if (inputs.DispatchedStages is { } dispatched && !dispatched.Contains(stage.Index)) continue;
            states[stage.Index] = DispatchStage(stage, baseNames[stage.Index], states, globalEnv, options);
        }
        return Finish(options);
    }

    // BuildKit prints by line; a stable sort keeps the order of two findings on one line.
    private LintResult Finish(LintOptions options) => new(_warnings.OrderBy(w => w.StartLine).ToList(), options.ErrorOnWarning);

    private void Report(LintOptions options, LintRule rule, int startLine, int endLine, string detail)
    {
        if (options.Runs(rule))
            _warnings.Add(new LintWarning(rule.Name, rule.Description, rule.Url, detail, startLine, endLine));
    }

    private void Report(LintOptions options, LintRule rule, SourceLocation location, string detail) =>
        Report(options, rule, location.StartLine, location.EndLine, detail);

    // ---- while parsing (instructions.ParseInstructionWithLinter) -----------------------------------------------------

    private void CheckParsedNode(Node node, LintOptions options)
    {
        var keyword = node.Value;
        var lower = keyword.ToLowerInvariant();
        if (lower == "maintainer")
            Report(options, LintRules.MaintainerDeprecated, node.StartLine, node.EndLine, LintRules.MaintainerDeprecatedMessage());
        if (lower != "from") return;
        var args = node.Arguments.Select(a => a.Value).ToList();
        if (args.Count == 3 && args[2] != args[2].ToLowerInvariant())
            Report(options, LintRules.StageNameCasing, node.StartLine, node.EndLine, LintRules.StageNameCasingMessage(args[2]));
        if (args.Count >= 3)
        {
            // A FROM of mixed case is ConsistentInstructionCasing's business, not this rule's.
            var fromLower = keyword == lower;
            var fromUpper = keyword == keyword.ToUpperInvariant();
            var asMatches = fromLower ? args[1] == args[1].ToLowerInvariant() : !fromUpper || args[1] == args[1].ToUpperInvariant();
            if (!asMatches)
                Report(options, LintRules.FromAsCasing, node.StartLine, node.EndLine, LintRules.FromAsCasingMessage(keyword, args[1]));
        }
    }

    // ---- over the stages (validations.go) ---------------------------------------------------------------------------

    private void CheckStageNames(LintOptions options)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stage in _file.Stages.Where(s => s.Name.Length > 0))
        {
            if (ReservedStageNames.Contains(stage.Name))
                Report(options, LintRules.ReservedStageName, stage.Location, LintRules.ReservedStageNameMessage(stage.Name));
            if (!seen.Add(stage.Name))
                Report(options, LintRules.DuplicateStageName, stage.Location, LintRules.DuplicateStageNameMessage(stage.Name));
        }
    }

    private void CheckCommandCasing(LintOptions options)
    {
        var commands = _file.Stages.SelectMany(s => s.Instructions.Prepend(s.From)).ToList();
        var lowerCount = commands.Count(c => c.Name == c.Name.ToLowerInvariant());
        var upperCount = commands.Count(c => c.Name != c.Name.ToLowerInvariant() && c.Name == c.Name.ToUpperInvariant());
        var majorityLower = lowerCount > upperCount;
        foreach (var command in commands)
        {
            var casing = majorityLower && command.Name != command.Name.ToLowerInvariant() ? "lowercase"
                : !majorityLower && command.Name != command.Name.ToUpperInvariant() ? "uppercase"
                : null;
            if (casing is not null)
                Report(options, LintRules.ConsistentInstructionCasing, command.Location, LintRules.ConsistentInstructionCasingMessage(command.Name, casing));
        }
    }

    // Base names must stay valid when no --build-arg is given (a default that only works with an override is a trap).
    private void CheckBaseNamesWithDefaults(LintOptions options)
    {
        List<KeyValuePair<string, string>> env;
        try
        {
            (env, _) = GlobalArgs(new Dictionary<string, string>(), withBuildArgs: false);
        }
        catch (DockerfileException)
        {
            return; // planning reports the same error with its place
        }
        foreach (var stage in _file.Stages)
        {
            string name;
            try
            {
                name = _lexer.ProcessWordWithMatches(stage.BaseName, ShellEnvironment.FromPairs(env)).Result;
            }
            catch (DockerfileException)
            {
                return;
            }
            if (ImageNameCheck.Problem(name) is not null)
                Report(options, LintRules.InvalidDefaultArgInFrom, stage.Location, LintRules.InvalidDefaultArgInFromMessage(stage.BaseName));
        }
    }

    /// <summary>The meta args before the first FROM over the platform args: values (declared without one: not set) and all names.</summary>
    private (List<KeyValuePair<string, string>> Env, HashSet<string> Declared) GlobalArgs(IReadOnlyDictionary<string, string> buildArgs, bool withBuildArgs)
    {
        var env = new List<KeyValuePair<string, string>>();
        void Set(string key, string value)
        {
            var i = env.FindIndex(e => e.Key == key);
            if (i >= 0) env[i] = new(key, value);
            else env.Add(new(key, value));
        }
        foreach (var (k, v) in PlatformSpec.PlatformArgs(inputs.Plan.TargetPlatform, inputs.Plan.BuildPlatform))
            Set(k, withBuildArgs && inputs.Plan.BuildArgs.TryGetValue(k, out var given) ? given : v);
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var arg in _file.MetaArgs)
        {
            foreach (var def in arg.Args)
            {
                declared.Add(def.Key);
                if (buildArgs.TryGetValue(def.Key, out var given))
                    Set(def.Key, given);
                else if (def.Value is not null)
                    Set(def.Key, _lexer.ProcessWordWithMatches(def.Value, ShellEnvironment.FromPairs(env)).Result);
            }
        }
        return (env, declared);
    }

    /// <summary>FROM's base name and platform against the global args; returns the expanded base name (null when it does not expand).</summary>
    private string? CheckFrom(Stage stage, List<KeyValuePair<string, string>> globalEnv, HashSet<string> argKeys, LintOptions options)
    {
        var env = ShellEnvironment.FromPairs(globalEnv);
        string? baseName = null;
        try
        {
            var name = _lexer.ProcessWordWithMatches(stage.BaseName, env);
            ReportUndeclaredFromArgs(name.Unmatched, argKeys, stage.Location, options);
            baseName = name.Result;
        }
        catch (DockerfileException)
        {
            // the planner says what is wrong with it
        }
        if (stage.Platform.Length == 0) return baseName;
        ShellWordResult platform;
        try
        {
            platform = _lexer.ProcessWordWithMatches(stage.Platform, env);
        }
        catch (DockerfileException)
        {
            return baseName;
        }
        ReportUndeclaredFromArgs(platform.Unmatched, argKeys, stage.Location, options);
        const string targetPlatform = "TARGETPLATFORM";
        if (platform.Matched.Count == 1 && platform.Unmatched.Count == 0 && platform.Matched.Contains(targetPlatform)
            && env.TryGet(targetPlatform, out var target) && platform.Result == target)
            Report(options, LintRules.RedundantTargetPlatform, stage.Location, LintRules.RedundantTargetPlatformMessage(stage.Platform));
        if (platform.Matched.Count == 0 && platform.Unmatched.Count == 0)
        {
            try
            {
                var constant = PlatformSpec.Parse(platform.Result);
                // A stage named after its platform (FROM --platform=linux/arm64 x AS build-arm64) means it.
                if (!stage.Name.Contains(constant.Os, StringComparison.Ordinal) && !stage.Name.Contains(constant.Architecture, StringComparison.Ordinal))
                    Report(options, LintRules.FromPlatformFlagConstDisallowed, stage.Location, LintRules.FromPlatformFlagConstDisallowedMessage(platform.Result));
            }
            catch (FormatException)
            {
                // an invalid platform fails the build with its own message
            }
        }
        return baseName;
    }

    private void ReportUndeclaredFromArgs(IReadOnlySet<string> unmatched, HashSet<string> argKeys, SourceLocation location, LintOptions options)
    {
        foreach (var arg in unmatched.Where(a => !argKeys.Contains(a)).Order(StringComparer.Ordinal))
            Report(options, LintRules.UndefinedArgInFrom, location, LintRules.UndefinedArgInFromMessage(arg, Suggest.Closest(arg, argKeys)));
    }
}
