using System.CommandLine;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Cli.Commands;

/// <summary>
/// <c>buildfarm plan</c>: shows what a build would run without running it: the stages (pruned ones marked) and the
/// step DAG grouped by parallel level, each step with its Dockerfile position, so a person sees what runs in parallel.
/// </summary>
public static class PlanCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var file = new Option<string?>("--file", "-f") { Description = "Path to the Dockerfile (default: CONTEXT/Dockerfile)" };
        var target = new Option<string?>("--target") { Description = "Build stage to plan (case-insensitive; default: the last stage)" };
        var buildArgs = new Option<string[]>("--build-arg")
        {
            Description = "Build-time variable KEY=VALUE (KEY alone takes the value from the environment); repeatable",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var platform = new Option<string?>("--platform") { Description = "Target platform os/arch[/variant] (default: linux/amd64)" };
        var context = new Argument<string>("CONTEXT") { Description = "Build context directory" };

        var command = new Command("plan", "Show the stages and the step DAG of a Dockerfile, grouped by what can run in parallel");
        command.Options.Add(file);
        command.Options.Add(target);
        command.Options.Add(buildArgs);
        command.Options.Add(platform);
        command.Arguments.Add(context);

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var contextDir = parseResult.GetValue(context)!;
                var dockerfileArg = parseResult.GetValue(file);
                var dockerfilePath = dockerfileArg ?? Path.Combine(contextDir, "Dockerfile");
                var displayName = dockerfileArg ?? "Dockerfile";
                if (!Directory.Exists(contextDir))
                    throw new DirectoryNotFoundException($"build context \"{contextDir}\" is not a directory; expected the path of the context");
                if (!File.Exists(dockerfilePath))
                    throw new FileNotFoundException($"Dockerfile \"{dockerfilePath}\" not found; expected -f PATH or CONTEXT/Dockerfile");

                var options = new PlanOptions
                {
                    Target = parseResult.GetValue(target),
                    BuildArgs = ParseBuildArgs(parseResult.GetValue(buildArgs) ?? [], environment),
                    TargetPlatform = ParsePlatform(parseResult.GetValue(platform)),
                };
                var text = await File.ReadAllTextAsync(dockerfilePath, cancellationToken);
                var plan = DockerfilePlanner.Plan(text, options, displayName);
                var ignoreFile = IgnoreFileLocator.Find(contextDir, Path.GetFullPath(dockerfilePath));
                Print(output, plan, displayName, contextDir, ignoreFile, options);
                return 0;
            }
            catch (Exception e) when (e is DockerfileException or FormatException or FileNotFoundException or DirectoryNotFoundException)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static Dictionary<string, string> ParseBuildArgs(IEnumerable<string> values, CliEnvironment environment)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var eq = value.IndexOf('=');
            if (eq == 0)
                throw new FormatException($"--build-arg \"{value}\": expected KEY=VALUE");
            if (eq > 0)
                result[value[..eq]] = value[(eq + 1)..];
            else if (environment.Variable(value) is { } fromEnv)
                result[value] = fromEnv;
        }
        return result;
    }

    private static PlatformSpec ParsePlatform(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return PlatformSpec.LinuxAmd64;
        if (value.Contains(','))
            throw new FormatException($"--platform \"{value}\": plan shows one platform at a time; expected a single os/arch[/variant]");
        try
        {
            return PlatformSpec.Parse(value);
        }
        catch (FormatException e)
        {
            throw new FormatException($"--platform: {e.Message}");
        }
    }

    private static void Print(TextWriter o, BuildPlan plan, string dockerfile, string context, string? ignoreFile, PlanOptions options)
    {
        o.WriteLine($"Dockerfile: {dockerfile}");
        o.WriteLine($"Context:    {context}" + (ignoreFile is null ? "" : $" (ignore file: {Path.GetRelativePath(context, ignoreFile)})"));
        o.WriteLine($"Target:     {plan.Target.DisplayName}");
        o.WriteLine($"Platform:   {options.TargetPlatform}");
        o.WriteLine();
        o.WriteLine("Stages:");
        var nameWidth = plan.Stages.Max(s => s.DisplayName.Length);
        var stagePositionWidth = plan.Stages.Max(s => Position(s.Location).Length);
        foreach (var stage in plan.Stages)
        {
            var basis = stage.BaseKind switch
            {
                StageBaseKind.Stage => $"FROM stage {plan.Stages[stage.BaseStageIndex!.Value].DisplayName}",
                StageBaseKind.Scratch => "FROM scratch",
                _ => $"FROM image {stage.BaseName}",
            };
            var needs = stage.DependsOnStages.Where(i => i != stage.BaseStageIndex).Select(i => plan.Stages[i].DisplayName).ToList();
            var line = $"  {stage.Index,2} {stage.DisplayName.PadRight(nameWidth)}  {Position(stage.Location).PadRight(stagePositionWidth)}  {basis}";
            if (needs.Count > 0)
                line += $"; needs {string.Join(", ", needs)}";
            if (stage.Pruned)
                line += "  (pruned: not needed by the target)";
            else
                line += $"  ({stage.StepIds.Count} steps)";
            o.WriteLine(line);
        }
        o.WriteLine();
        o.WriteLine($"Steps: {plan.Steps.Count} in {plan.Levels.Count} levels (the steps of one level can run at the same time)");
        var idWidth = plan.Steps.Max(s => s.Id.Length);
        var stageWidth = plan.Steps.Max(s => s.StageName.Length);
        var positionWidth = plan.Steps.Max(s => Position(s.Location).Length);
        for (var level = 0; level < plan.Levels.Count; level++)
        {
            o.WriteLine($"level {level}:");
            foreach (var step in plan.Levels[level])
            {
                var after = new List<string>();
                if (step.ParentId is not null)
                    after.Add(step.ParentId);
                after.AddRange(step.DependsOn.Select(d => $"{d} ({plan.GetStep(d).StageName})"));
                var text = OneLine(step.SourceText);
                var line = $"  {step.Id.PadRight(idWidth)}  {("[" + step.StageName + "]").PadRight(stageWidth + 2)}  {Position(step.Location).PadRight(positionWidth)}  {text}";
                if (after.Count > 0)
                    line += $"   <- {string.Join(", ", after)}";
                o.WriteLine(line);
            }
        }
    }

    private static string Position(Coordinator.Dockerfile.Instructions.SourceLocation location) => $"{location.FileName}:{location.StartLine}";

    // Continuation lines and heredocs are shown on one line, shortened.
    private static string OneLine(string text)
    {
        var first = text.ReplaceLineEndings(" ").Trim();
        return first.Length <= 100 ? first : first[..97] + "...";
    }
}
