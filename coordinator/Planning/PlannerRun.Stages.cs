using System.Globalization;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Planning;

/// <summary>Global ARGs, stages and their FROM, the stage graph (dependencies, cycles, planning order) and ONBUILD triggers.</summary>
internal sealed partial class PlannerRun
{
    // ---- global scope -------------------------------------------------------------------------------------------

    private void BuildGlobalArgs()
    {
        // Platform args first; a --build-arg may override them (BuildKit's setKVValue over the platform args).
        foreach (var (k, v) in PlatformSpec.PlatformArgs(options.TargetPlatform, options.BuildPlatform))
            SetGlobal(k, options.BuildArgs.TryGetValue(k, out var given) ? given : v);

        foreach (var arg in dockerfile.MetaArgs)
        {
            foreach (var def in arg.Args)
            {
                string? value;
                if (options.BuildArgs.TryGetValue(def.Key, out var given))
                    value = given;
                else if (def.Value is not null)
                    value = ExpandWith(def.Value, GlobalEnvironment(), arg.Location);
                else
                    value = null;
                CaptureGlobalArg(arg, def, value);
                SetGlobal(def.Key, value);
            }
        }
    }

    private void SetGlobal(string key, string? value)
    {
        var i = _globalArgs.FindIndex(a => a.Key == key);
        if (i >= 0)
            _globalArgs[i] = new(key, value);
        else
            _globalArgs.Add(new(key, value));
    }

    // Meta args for FROM lines and --from values: a declared arg without a value expands to "".
    private ShellEnvironment GlobalEnvironment() =>
        ShellEnvironment.FromPairs(_globalArgs.Select(a => new KeyValuePair<string, string>(a.Key, a.Value ?? "")));

    private void CreateStages()
    {
        var env = GlobalEnvironment();
        foreach (var stage in dockerfile.Stages)
        {
            var from = stage.From;
            var baseName = ExpandWith(from.BaseName, env, from.Location);
            if (baseName.Length == 0)
                throw Error($"base name ({from.BaseName}) should not be blank", from.Location);

            var platform = options.TargetPlatform;
            if (from.Platform.Length > 0)
            {
                var text = ExpandWith(from.Platform, env, from.Location);
                try
                {
                    platform = PlatformSpec.Parse(text);
                }
                catch (FormatException e)
                {
                    throw Error($"failed to parse platform {text}: {e.Message}", from.Location);
                }
            }

            // Only earlier stages can be a base, compared as written with the (lower-case) stage names, as BuildKit
            // does; anything else is an image name. A repeated name means its latest stage.
            // A named context (--build-context) overrides a stage or image of its name.
            if (NamedImage(baseName) is { } contextImage)
                baseName = contextImage;
            else if (NamedStage(baseName) is { } contextStage)
            {
                baseName = _stages.LastOrDefault(s => s.Name.Equals(contextStage, StringComparison.OrdinalIgnoreCase))?.Name
                           ?? throw Error($"build context {baseName}: target:{contextStage} names no stage defined before this one", from.Location);
            }
            var baseStage = NamedImage(from.BaseName) is not null ? null
                : _stages.LastOrDefault(s => s.Name.Length > 0 && s.Name.Equals(baseName, StringComparison.Ordinal));
            var kind = baseStage is not null ? StageBaseKind.Stage
                : baseName == ScratchName ? StageBaseKind.Scratch
                : StageBaseKind.Image;
            var state = new StageState
            {
                Index = stage.Index,
                Name = stage.Name,
                DisplayName = stage.Name.Length > 0 ? stage.Name : $"stage-{stage.Index}",
                BaseKind = kind,
                BaseName = baseName,
                BaseStageIndex = baseStage?.Index,
                Platform = baseStage is not null && from.Platform.Length == 0 ? baseStage.Platform : platform,
            };
            if (baseStage is not null)
            {
                state.Dependencies.Add(baseStage.Index);
                state.DependencyInstructions[baseStage.Index] = from;
            }
            CaptureFromArgs(state, from, env);
            _stages.Add(state);
        }
    }

    private int FindTarget()
    {
        if (string.IsNullOrEmpty(options.Target))
            return _stages.Count - 1;
        var found = _stages.LastOrDefault(s => s.Name.Length > 0 && s.Name.Equals(options.Target, StringComparison.OrdinalIgnoreCase));
        if (found is null)
        {
            var names = _stages.Where(s => s.Name.Length > 0).Select(s => s.Name).ToList();
            var expected = names.Count == 0 ? "the Dockerfile has no named stages" : "expected one of: " + string.Join(", ", names);
            throw new DockerfileException($"target stage \"{options.Target}\" could not be found ({expected})", fileName);
        }
        return found.Index;
    }


    // ---- stage graph --------------------------------------------------------------------------------------------

    private void CollectDependencies()
    {
        foreach (var stage in dockerfile.Stages)
        {
            var state = _stages[stage.Index];
            foreach (var instruction in stage.Instructions)
            {
                switch (instruction)
                {
                    case CopyInstruction { From.Length: > 0 } copy:
                        var reference = ResolveCopyFrom(copy);
                        _fromReferences[copy] = reference;
                        AddDependency(state, reference, copy);
                        break;
                    case RunInstruction run:
                        for (var m = 0; m < run.Mounts.Count; m++)
                        {
                            var mountFrom = MountFrom(run.Mounts[m], run.Location);
                            if (mountFrom.Length == 0)
                                continue;
                            var mountReference = ResolveReference(mountFrom, run.Location, allowIndex: false);
                            _mountReferences[new RunMountKey(run, m)] = mountReference;
                            AddDependency(state, mountReference, run);
                        }
                        break;
                }
            }
        }
    }

    // from= never holds variables (the parser rejects them), so it is read without expanding the rest of the
    // mount, whose variables may be stage ARGs that are unknown at this point.
    private string MountFrom(RunMountSpec spec, SourceLocation location)
    {
        if (spec.Literal is not null)
            return spec.Literal.From;
        var fields = Expand(() => CsvFields.Parse(spec.Text, "failed to parse csv mounts"), location);
        foreach (var field in fields)
        {
            var eq = field.IndexOf('=');
            if (eq > 0 && field[..eq].Trim().Equals("from", StringComparison.OrdinalIgnoreCase))
                return field[(eq + 1)..];
        }
        return "";
    }

    // --from is taken as written: BuildKit (dockerd 26.1's and v0.24) expands no variable there, not even a global
    // ARG, and then refuses "${SRC}" as an image name. A stage named there must come before the stage that names it;
    // that is checked when the stage is planned (BuildKit: when it is dispatched), so an unreached stage may name a later one.
    private StageReference ResolveCopyFrom(CopyInstruction copy)
    {
        var reference = ResolveReference(copy.From, copy.Location, allowIndex: true);
        if (!reference.IsStage && copy.From != ScratchName && ImageNameCheck.Problem(copy.From) is { } problem)
            throw Error($"failed to parse stage name \"{copy.From}\": {problem}", copy.Location);
        return reference;
    }

    private StageReference ResolveReference(string text, SourceLocation location, bool allowIndex)
    {
        if (allowIndex && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
        {
            if (index < 0 || index >= _stages.Count)
                throw Error($"invalid stage index {index}: expected 0 to {_stages.Count - 1}", location);
            return new StageReference(text, index);
        }
        if (NamedImage(text) is { } image)
            return new StageReference(image, null);
        var name = NamedStage(text) ?? text;
        var stage = _stages.LastOrDefault(s => s.Name.Length > 0 && s.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (stage is null && name != text)
            throw Error($"build context {text}: target:{name} names no stage of this Dockerfile", location);
        return new StageReference(text, stage?.Index);
    }

    private string? NamedImage(string name) =>
        options.NamedContextImages.FirstOrDefault(c => c.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    private string? NamedStage(string name) =>
        options.NamedContextStages.FirstOrDefault(c => c.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    private static void AddDependency(StageState state, StageReference reference, Instruction instruction)
    {
        if (reference.StageIndex is not { } index || state.Dependencies.Contains(index))
            return;
        state.Dependencies.Add(index);
        state.DependencyInstructions[index] = instruction;
    }

    // BuildKit's check: depth-first from each stage in order; the first stage whose walk meets its own path is named.
    private void CheckCycles()
    {
        var visited = new HashSet<int>();
        var path = new HashSet<int>();
        foreach (var stage in _stages)
        {
            var cycle = Visit(stage.Index, null);
            if (cycle is not null)
                throw Error($"circular dependency detected on stage: {stage.DisplayName}", cycle.Location);
        }

        Instruction? Visit(int index, Instruction? via)
        {
            if (!visited.Add(index))
                return null;
            path.Add(index);
            var state = _stages[index];
            foreach (var dep in state.Dependencies)
            {
                var instruction = via ?? state.DependencyInstructions[dep];
                if (path.Contains(dep))
                    return instruction;
                var found = Visit(dep, instruction);
                if (found is not null)
                    return found;
            }
            path.Remove(index);
            return null;
        }
    }

    private HashSet<int> Reachable(int target)
    {
        var result = new HashSet<int>();
        var stack = new Stack<int>();
        stack.Push(target);
        while (stack.Count > 0)
        {
            var i = stack.Pop();
            if (!result.Add(i))
                continue;
            foreach (var dep in _stages[i].Dependencies)
                stack.Push(dep);
        }
        return result;
    }

    // Lowest index first among the stages whose dependencies are planned: deterministic and close to file order.
    private IEnumerable<int> PlanningOrder(HashSet<int> reachable)
    {
        var done = new HashSet<int>();
        while (done.Count < reachable.Count)
        {
            var next = reachable.Where(i => !done.Contains(i) && _stages[i].Dependencies.All(done.Contains)).Min();
            done.Add(next);
            yield return next;
        }
    }


    private void PlanStage(StageState state)
    {
        var stage = dockerfile.Stages[state.Index];
        var from = stage.From;
        string? parentId = null;
        IReadOnlyList<string> triggers = [];
        switch (state.BaseKind)
        {
            case StageBaseKind.Stage:
                var baseState = _stages[state.BaseStageIndex!.Value];
                state.Config = baseState.Config;
                state.InheritArgs(baseState);
                parentId = baseState.StepIds[^1];
                triggers = baseState.Config.OnBuild;
                break;
            case StageBaseKind.Image:
                options.BaseImages.TryGetValue(state.BaseName, out var imageConfig);
                state.Config = ImageConfigState.FromBase(imageConfig);
                triggers = imageConfig?.OnBuild ?? [];
                break;
            default:
                state.Config = ImageConfigState.FromBase(null);
                break;
        }
        // Triggers run once, in the stage that builds on them; they are not inherited further.
        state.Config = state.Config with { OnBuild = [] };

        AddStep(state, new PlannedStep
        {
            Id = StepId(state, 0),
            StageIndex = state.Index,
            StageName = state.DisplayName,
            Kind = StepKind.From,
            Location = from.Location,
            SourceText = from.SourceCode,
            Instruction = "FROM",
            ParentId = parentId,
            Platform = state.Platform.ToString(),
            BaseImage = state.BaseKind == StageBaseKind.Image ? state.BaseName : null,
            IsScratch = state.BaseKind == StageBaseKind.Scratch,
            Config = state.Config,
        });

        foreach (var trigger in ParseTriggers(triggers, from))
            Dispatch(state, trigger);
        foreach (var instruction in stage.Instructions)
            Dispatch(state, instruction);
        state.Planned = true;
    }

    private IEnumerable<Instruction> ParseTriggers(IReadOnlyList<string> triggers, FromInstruction from)
    {
        if (triggers.Count == 0)
            yield break;
        ParseResult parsed;
        try
        {
            parsed = DockerfileParser.Parse(string.Join("\n", triggers), fileName);
        }
        catch (DockerfileException e)
        {
            throw Error($"invalid ONBUILD trigger of base {from.BaseName}: {e.Reason}", from.Location);
        }
        foreach (var node in parsed.Ast.Children)
        {
            Instruction instruction;
            try
            {
                instruction = InstructionParser.ParseInstruction(node, fileName);
            }
            catch (DockerfileException e)
            {
                throw Error($"invalid ONBUILD trigger of base {from.BaseName}: {e.Reason}", from.Location);
            }
            // A trigger has no place in this file; report it at the FROM that fires it.
            yield return instruction with { Location = from.Location };
        }
    }

    private StepSource ToSource(StageReference reference, SourceLocation location)
    {
        if (reference.StageIndex is { } index)
        {
            if (!_stages[index].Planned)
                throw Error($"stage {_stages[index].DisplayName} is used by an ONBUILD trigger but not built before it; expected a stage the base already depends on", location);
            return new StepSource(StepSourceKind.Stage, _stages[index].DisplayName, index, _stages[index].StepIds[^1]);
        }
        return new StepSource(StepSourceKind.Image, reference.Text);
    }
}
