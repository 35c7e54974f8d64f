using System.Globalization;
using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Planning;

/// <summary>One planning of one Dockerfile; all state lives here for the duration of <see cref="Run"/>.</summary>
internal sealed class PlannerRun(DockerfileStages dockerfile, PlanOptions options, string fileName)
{
    private const string ScratchName = "scratch";

    private readonly ShellLexer _lexer = new(dockerfile.EscapeToken);

    // Heredoc bodies keep their quotes: BuildKit expands them with quote processing off.
    private readonly ShellLexer _rawLexer = new('\\') { SkipProcessQuotes = true };

    private readonly List<KeyValuePair<string, string?>> _globalArgs = [];
    private readonly List<StageState> _stages = [];
    private readonly Dictionary<Instruction, StageReference> _fromReferences = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<RunMountKey, StageReference> _mountReferences = [];
    private readonly List<PlannedStep> _steps = [];

    private readonly record struct RunMountKey(Instruction Run, int Mount);

    public BuildPlan Run()
    {
        if (dockerfile.Stages.Count == 0)
            throw new DockerfileException("dockerfile contains no stages to build", fileName);
        BuildGlobalArgs();
        CreateStages();
        var target = FindTarget();
        CollectDependencies();
        CheckCycles();
        var reachable = Reachable(target);

        foreach (var index in PlanningOrder(reachable))
            PlanStage(_stages[index]);

        var planned = _stages.Select(s => new PlannedStage
        {
            Index = s.Index,
            Name = s.Name,
            DisplayName = s.DisplayName,
            BaseKind = s.BaseKind,
            BaseName = s.BaseName,
            BaseStageIndex = s.BaseStageIndex,
            Platform = s.Platform.ToString(),
            Location = dockerfile.Stages[s.Index].Location,
            Pruned = !reachable.Contains(s.Index),
            StepIds = s.StepIds.ToArray(),
            DependsOnStages = s.Dependencies.ToArray(),
            FinalConfig = s.Planned ? s.Config : null,
        }).ToArray();
        return new BuildPlan(planned, _steps, target);
    }

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
            var baseStage = _stages.LastOrDefault(s => s.Name.Length > 0 && s.Name.Equals(baseName, StringComparison.Ordinal));
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
        var env = GlobalEnvironment();
        foreach (var stage in dockerfile.Stages)
        {
            var state = _stages[stage.Index];
            foreach (var instruction in stage.Instructions)
            {
                switch (instruction)
                {
                    case CopyInstruction { From.Length: > 0 } copy:
                        var reference = ResolveReference(ExpandWith(copy.From, env, copy.Location), copy.Location, allowIndex: true);
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

    private StageReference ResolveReference(string text, SourceLocation location, bool allowIndex)
    {
        if (allowIndex && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var index))
        {
            if (index < 0 || index >= _stages.Count)
                throw Error($"invalid stage index {index}: expected 0 to {_stages.Count - 1}", location);
            return new StageReference(text, index);
        }
        var stage = _stages.LastOrDefault(s => s.Name.Length > 0 && s.Name.Equals(text, StringComparison.OrdinalIgnoreCase));
        return new StageReference(text, stage?.Index);
    }

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

    // ---- dispatch -----------------------------------------------------------------------------------------------

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

    private void Dispatch(StageState state, Instruction instruction)
    {
        var location = instruction.Location;
        var env = ExpansionEnvironment(state);
        string Word(string w) => ExpandWith(w, env, location);
        string Raw(string w) => Expand(() => _rawLexer.ProcessWord(w, env), location);

        var config = state.Config;
        switch (instruction)
        {
            case ArgInstruction arg:
                foreach (var def in arg.Args)
                {
                    string? value;
                    if (options.BuildArgs.TryGetValue(def.Key, out var given))
                        value = given;
                    else if (def.Value is not null)
                        value = Word(def.Value);
                    else
                    {
                        // ARG NAME inside a stage takes the global value, if any.
                        var global = _globalArgs.FindIndex(a => a.Key == def.Key);
                        value = global >= 0 ? _globalArgs[global].Value : null;
                    }
                    state.SetArg(def.Key, value);
                }
                return;

            case EnvInstruction envInstruction:
            {
                var expanded = (EnvInstruction)envInstruction.Expand(Word);
                var list = config.Env;
                foreach (var kv in expanded.Env)
                    list = ImageEnv.AddEnv(list, kv.Key, kv.Value);
                ConfigStep(state, instruction, expanded, "ENV " + Json(expanded.Env.Select(kv => kv.Key + "=" + kv.Value)), config with { Env = list });
                return;
            }

            case LabelInstruction label:
            {
                var expanded = (LabelInstruction)label.Expand(Word);
                var labels = new Dictionary<string, string>(config.Labels);
                foreach (var kv in expanded.Labels)
                    labels[kv.Key] = kv.Value;
                ConfigStep(state, instruction, expanded, "LABEL " + Json(expanded.Labels.Select(kv => kv.Key + "=" + kv.Value)), config with { Labels = labels });
                return;
            }

            case WorkdirInstruction workdir:
            {
                var expanded = (WorkdirInstruction)workdir.Expand(Word);
                var path = expanded.Path.StartsWith('/') ? GoPath.Clean(expanded.Path) : GoPath.Join("/", config.WorkingDir, expanded.Path);
                ConfigStep(state, instruction, expanded with { Path = path }, "WORKDIR " + Json([path]), config with { WorkingDir = path });
                return;
            }

            case UserInstruction user:
            {
                var expanded = (UserInstruction)user.Expand(Word);
                ConfigStep(state, instruction, expanded, "USER " + Json([expanded.User]), config with { User = expanded.User });
                return;
            }

            case CmdInstruction cmd:
            {
                var args = CommandArgs(cmd.Command, config);
                state.CmdSet = true;
                ConfigStep(state, instruction, cmd, "CMD " + Json(args), config with { Cmd = args });
                return;
            }

            case EntrypointInstruction entrypoint:
            {
                var args = CommandArgs(entrypoint.Command, config);
                // An ENTRYPOINT resets an inherited CMD, but not one set earlier in this stage.
                var next = config with { Entrypoint = args, Cmd = state.CmdSet ? config.Cmd : null };
                ConfigStep(state, instruction, entrypoint, "ENTRYPOINT " + Json(args), next);
                return;
            }

            case ExposeInstruction expose:
            {
                var words = expose.Ports.SelectMany(p => Expand(() => _lexer.ProcessWords(p, env), location)).ToList();
                IReadOnlyList<string> ports;
                try
                {
                    ports = ExposedPorts.Parse(words);
                }
                catch (FormatException e)
                {
                    throw Error(e.Message + "; expected [ip:[hostPort]:]port[-end][/proto]", location);
                }
                var all = config.ExposedPorts.Concat(ports).Distinct(StringComparer.Ordinal).ToArray();
                ConfigStep(state, instruction, expose with { Ports = words }, "EXPOSE " + Json(ports), config with { ExposedPorts = all });
                return;
            }

            case VolumeInstruction volume:
            {
                var expanded = (VolumeInstruction)volume.Expand(Word);
                foreach (var v in expanded.Volumes)
                {
                    if (v.Trim().Length == 0)
                        throw Error("VOLUME specified can not be an empty string; expected a path", location);
                }
                var all = config.Volumes.Concat(expanded.Volumes).Distinct(StringComparer.Ordinal).ToArray();
                ConfigStep(state, instruction, expanded, "VOLUME " + Json(expanded.Volumes), config with { Volumes = all });
                return;
            }

            case StopSignalInstruction stop:
            {
                var expanded = (StopSignalInstruction)stop.Expand(Word);
                ConfigStep(state, instruction, expanded, "STOPSIGNAL " + Json([expanded.Signal]), config with { StopSignal = expanded.Signal });
                return;
            }

            case HealthcheckInstruction health:
                ConfigStep(state, instruction, health, "HEALTHCHECK " + CanonicalJson.Serialize(new JsonObject
                {
                    ["test"] = new JsonArray(health.Health.Test.Select(t => (JsonNode?)t).ToArray()),
                    ["interval"] = health.Health.Interval.Ticks,
                    ["timeout"] = health.Health.Timeout.Ticks,
                    ["startPeriod"] = health.Health.StartPeriod.Ticks,
                    ["startInterval"] = health.Health.StartInterval.Ticks,
                    ["retries"] = health.Health.Retries,
                }), config with { Healthcheck = health.Health });
                return;

            case ShellInstruction shell:
                ConfigStep(state, instruction, shell, "SHELL " + Json(shell.Shell), config with { Shell = shell.Shell });
                return;

            case OnbuildInstruction onbuild:
                ConfigStep(state, instruction, onbuild, "ONBUILD " + Json([onbuild.Expression]), config with { OnBuild = config.OnBuild.Append(onbuild.Expression).ToArray() });
                return;

            case MaintainerInstruction maintainer:
                ConfigStep(state, instruction, maintainer, "MAINTAINER " + Json([maintainer.Maintainer]), config with { Author = maintainer.Maintainer });
                return;

            case RunInstruction run:
                PlanRun(state, run, env, Word);
                return;

            case CopyInstruction copy:
                PlanCopy(state, copy, Word, Raw);
                return;

            case AddInstruction add:
                PlanAdd(state, add, Word, Raw);
                return;

            case FromInstruction:
                throw Error("FROM cannot be used here; expected it only at the start of a stage", location);

            default:
                throw Error($"instruction {instruction.Keyword} is not supported by the planner", location);
        }
    }

    private void PlanRun(StageState state, RunInstruction run, ShellEnvironment env, Func<string, string> word)
    {
        var location = run.Location;
        var config = state.Config;
        // Secret ids and targets are resolved here, once: the key and the executed instruction share the result.
        IReadOnlyList<RunMount> mounts = Expand(() => run.ExpandMounts(word).Select(SecretMountResolver.Resolve).ToArray(), location);
        var expanded = run with
        {
            Mounts = run.Mounts.Select((spec, i) => RunMountSpec.FromMount(spec.Text, mounts[i])).ToArray(),
        };
        var args = CommandArgs(run.Command, config);

        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (run.Network != RunNetwork.Default)
            flags["network"] = run.Network;
        if (run.Security != RunSecurity.Sandbox)
            flags["security"] = run.Security;
        if (run.Devices.Count > 0)
            flags["device"] = Json(run.Devices.Select(d => d.Name + (d.Required ? ",required" : "")));

        var normalized = new List<IReadOnlyDictionary<string, string>>();
        var sources = new List<StepSource>();
        var selections = new List<ContextSelection>();
        for (var m = 0; m < mounts.Count; m++)
        {
            var mount = mounts[m];
            normalized.Add(NormalizeMount(mount));
            if (mount.Type is MountType.Bind or MountType.Cache && mount.From.Length > 0)
            {
                var reference = _mountReferences.TryGetValue(new RunMountKey(run, m), out var r) ? r : ResolveReference(mount.From, location, allowIndex: false);
                sources.Add(ToSource(reference, location));
            }
            else if (mount.Type == MountType.Bind)
            {
                // A bind mount without from= reads the build context: its files are part of the key.
                selections.Add(new ContextSelection([mount.Source.Length == 0 ? "." : mount.Source], []));
            }
        }

        var instructionText = "RUN " + Json(args);
        if (run.Files.Count > 0)
            instructionText += " " + JsonObjects(run.Files.Select(f => new JsonObject { ["name"] = f.Name, ["data"] = f.Data, ["chomp"] = f.Chomp }));

        // Key: declared args only (the predefined proxy args are not ARGs unless declared), image env wins.
        var envMap = ImageEnv.MergeEnvAndArgs([], config.Env);
        var visibleArgs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in state.Args)
        {
            if (v is not null && !envMap.ContainsKey(k))
                visibleArgs[k] = v;
        }

        var runEnv = config.Env.ToList();
        foreach (var (k, v) in visibleArgs)
            runEnv.Add(k + "=" + v);
        var proxy = ProxyEnv.FromBuildArgs(options.BuildArgs);
        if (proxy is not null)
        {
            foreach (var (k, v) in proxy.ToEnvironment())
            {
                if (!envMap.ContainsKey(k) && !visibleArgs.ContainsKey(k))
                    runEnv.Add(k + "=" + v);
            }
        }

        AddStep(state, new PlannedStep
        {
            Id = StepId(state, state.StepIds.Count),
            StageIndex = state.Index,
            StageName = state.DisplayName,
            Kind = StepKind.Run,
            Location = location,
            SourceText = run.SourceCode,
            Instruction = instructionText,
            Expanded = expanded,
            ParentId = state.StepIds[^1],
            DependsOn = sources.Where(s => s.StepId is not null).Select(s => s.StepId!).Distinct().ToArray(),
            Platform = state.Platform.ToString(),
            Flags = flags,
            BuildArgs = visibleArgs,
            Env = envMap,
            Mounts = normalized,
            Sources = sources,
            ContextSelections = selections,
            RunArgs = args,
            RunEnvironment = runEnv,
            Config = config,
        });
    }

    private void PlanCopy(StageState state, CopyInstruction copy, Func<string, string> word, Func<string, string> raw)
    {
        var location = copy.Location;
        var expanded = ((CopyInstruction)Expand(() => copy.Expand(word), location)).ExpandContents(raw);
        foreach (var src in expanded.SourcePaths)
        {
            if (IsUrl(src))
                throw Error("source can't be a URL for COPY", location);
        }

        var flags = CommonFileFlags(expanded.Chown, expanded.Chmod, expanded.Link, expanded.ExcludePatterns);
        if (expanded.Parents)
            flags["parents"] = "true";

        var sources = new List<StepSource>();
        var selections = new List<ContextSelection>();
        if (copy.From.Length > 0)
        {
            // ONBUILD triggers were not seen when the stage graph was built: resolve their --from now.
            var reference = _fromReferences.TryGetValue(copy, out var known)
                ? known
                : ResolveReference(ExpandWith(copy.From, GlobalEnvironment(), location), location, allowIndex: true);
            sources.Add(ToSource(reference, location));
        }
        else if (expanded.SourcePaths.Count > 0)
            selections.Add(new ContextSelection(expanded.SourcePaths, expanded.ExcludePatterns, expanded.Parents));

        FileStep(state, StepKind.Copy, copy, expanded, "COPY", expanded.SourcePaths, expanded.SourceContents, expanded.DestPath, flags, sources, selections);
    }

    private void PlanAdd(StageState state, AddInstruction add, Func<string, string> word, Func<string, string> raw)
    {
        var location = add.Location;
        var expanded = ((AddInstruction)Expand(() => add.Expand(word), location)).ExpandContents(raw);
        var flags = CommonFileFlags(expanded.Chown, expanded.Chmod, expanded.Link, expanded.ExcludePatterns);
        if (expanded.Checksum.Length > 0)
            flags["checksum"] = expanded.Checksum;
        if (expanded.KeepGitDir is { } keep)
            flags["keep-git-dir"] = keep ? "true" : "false";
        if (expanded.Unpack is { } unpack)
            flags["unpack"] = unpack ? "true" : "false";

        // URLs and git sources are fetched by the worker; only local paths come from the context.
        var local = expanded.SourcePaths.Where(s => !IsUrl(s) && !IsGit(s)).ToArray();
        var selections = new List<ContextSelection>();
        if (local.Length > 0)
            selections.Add(new ContextSelection(local, expanded.ExcludePatterns));

        FileStep(state, StepKind.Add, add, expanded, "ADD", expanded.SourcePaths, expanded.SourceContents, expanded.DestPath, flags, [], selections);
    }

    private void FileStep(StageState state, StepKind kind, Instruction original, Instruction expanded, string keyword,
        IReadOnlyList<string> paths, IReadOnlyList<SourceContent> contents, string dest, Dictionary<string, string> flags,
        List<StepSource> sources, List<ContextSelection> selections)
    {
        // A relative destination is relative to WORKDIR, which the parent chain already fixes; the text stays as written.
        var text = keyword + " " + Json(paths.Append(dest));
        if (contents.Count > 0)
            text += " " + JsonObjects(contents.Select(c => new JsonObject { ["path"] = c.Path, ["data"] = c.Data }));
        AddStep(state, new PlannedStep
        {
            Id = StepId(state, state.StepIds.Count),
            StageIndex = state.Index,
            StageName = state.DisplayName,
            Kind = kind,
            Location = original.Location,
            SourceText = original.SourceCode,
            Instruction = text,
            Expanded = expanded,
            ParentId = state.StepIds[^1],
            DependsOn = sources.Where(s => s.StepId is not null).Select(s => s.StepId!).Distinct().ToArray(),
            Platform = state.Platform.ToString(),
            Flags = flags,
            Sources = sources,
            ContextSelections = selections,
            Config = state.Config,
        });
    }

    private static Dictionary<string, string> CommonFileFlags(string chown, string chmod, bool link, IReadOnlyList<string> excludes)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (chown.Length > 0)
            flags["chown"] = chown;
        if (chmod.Length > 0)
            flags["chmod"] = chmod;
        if (link)
            flags["link"] = "true";
        if (excludes.Count > 0)
            flags["exclude"] = Json(excludes);
        return flags;
    }

    private void ConfigStep(StageState state, Instruction original, Instruction expanded, string text, ImageConfigState next)
    {
        state.Config = next;
        AddStep(state, new PlannedStep
        {
            Id = StepId(state, state.StepIds.Count),
            StageIndex = state.Index,
            StageName = state.DisplayName,
            Kind = StepKind.Config,
            Location = original.Location,
            SourceText = original.SourceCode,
            Instruction = text,
            Expanded = expanded,
            ParentId = state.StepIds[^1],
            Platform = state.Platform.ToString(),
            Config = next,
        });
    }

    private void AddStep(StageState state, PlannedStep step)
    {
        state.StepIds.Add(step.Id);
        _steps.Add(step);
    }

    private static string StepId(StageState state, int position) => $"s{state.Index}.{position}";

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

    // Secret and ssh mounts keep only what identifies them; no value can reach a key.
    private static IReadOnlyDictionary<string, string> NormalizeMount(RunMount mount)
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal) { ["type"] = RunMountParser.TypeName(mount.Type) };
        void Put(string k, string? v)
        {
            if (!string.IsNullOrEmpty(v))
                m[k] = v;
        }
        Put("target", mount.Target);
        Put("mode", mount.Mode?.ToString("o", CultureInfo.InvariantCulture));
        Put("uid", mount.Uid?.ToString(CultureInfo.InvariantCulture));
        Put("gid", mount.Gid?.ToString(CultureInfo.InvariantCulture));
        switch (mount.Type)
        {
            case MountType.Secret:
            {
                // Resolved by SecretMountResolver. An env-only secret keeps the default path in the key, as it always had.
                m["id"] = mount.CacheId;
                m["target"] = mount.Target.Length > 0 ? mount.Target : SecretMountResolver.DefaultTarget(mount.CacheId);
                Put("env", mount.Env);
                if (mount.Required)
                    m["required"] = "true";
                break;
            }
            case MountType.Ssh:
                m["id"] = mount.CacheId.Length > 0 ? mount.CacheId : "default";
                Put("env", mount.Env);
                if (mount.Required)
                    m["required"] = "true";
                break;
            case MountType.Tmpfs:
                if (mount.SizeLimit > 0)
                    m["size"] = mount.SizeLimit.ToString(CultureInfo.InvariantCulture);
                break;
            default:
                Put("from", mount.From);
                Put("source", mount.Source);
                if (mount.ReadOnly)
                    m["readonly"] = "true";
                if (mount.Type == MountType.Cache)
                {
                    Put("id", mount.CacheId);
                    Put("sharing", mount.CacheSharing?.ToString().ToLowerInvariant());
                }
                break;
        }
        return m;
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    /// <summary>Image env wins over the stage's ARGs; undeclared build args are not visible.</summary>
    private static ShellEnvironment ExpansionEnvironment(StageState state)
    {
        var merged = ImageEnv.MergeEnvAndArgs(state.Args, state.Config.Env);
        return ShellEnvironment.FromPairs(merged);
    }

    private static IReadOnlyList<string> CommandArgs(ShellDependentCommand command, ImageConfigState config) =>
        command.PrependShell ? config.Shell.Append(string.Join(" ", command.CmdLine)).ToArray() : command.CmdLine.ToArray();

    private static bool IsUrl(string source) =>
        source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static bool IsGit(string source) =>
        source.StartsWith("git@", StringComparison.Ordinal) || source.StartsWith("git://", StringComparison.Ordinal) ||
        (IsUrl(source) && source.EndsWith(".git", StringComparison.Ordinal));

    // Instruction texts go into keys: encode with our canonical writer, never a serializer whose escaping may change.
    private static string Json(IEnumerable<string> values) => CanonicalJson.Serialize(new JsonArray(values.Select(v => (JsonNode?)v).ToArray()));

    private static string JsonObjects(IEnumerable<JsonObject> objects) => CanonicalJson.Serialize(new JsonArray(objects.Cast<JsonNode?>().ToArray()));

    private string ExpandWith(string word, IShellEnvironment env, SourceLocation location) =>
        Expand(() => _lexer.ProcessWord(word, env), location);

    private T Expand<T>(Func<T> action, SourceLocation location)
    {
        try
        {
            return action();
        }
        catch (DockerfileException e) when (e.Line == 0)
        {
            throw e.At(location.FileName.Length > 0 ? location.FileName : fileName, location.StartLine, location.Column, location.EndLine);
        }
    }

    private DockerfileException Error(string reason, SourceLocation location) =>
        new(reason, location.FileName.Length > 0 ? location.FileName : fileName, location.StartLine, location.Column, location.EndLine);
}
