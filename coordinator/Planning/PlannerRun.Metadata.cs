using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Planning;

/// <summary>ARG and the instructions that only change the image config; each is a config step with its own key.</summary>
internal sealed partial class PlannerRun
{
    // ARG and the instructions that change only the image config (BuildKit's dispatchEnv, dispatchLabel, dispatchWorkdir,
    // dispatchUser, dispatchCmd, dispatchEntrypoint, dispatchExpose, dispatchVolume, ...). False: not one of them.
    private bool TryPlanMetadata(StageState state, Instruction instruction, IShellEnvironment env, Func<string, string> word)
    {
        var location = instruction.Location;
        var config = state.Config;
        switch (instruction)
        {
            case ArgInstruction arg:
                foreach (var def in arg.Args)
                {
                    string? value = null;
                    if (options.BuildArgs.TryGetValue(def.Key, out var given))
                        value = given;
                    else if (def.Value is not null)
                        value = word(def.Value);
                    CaptureStageArg(state, arg, def, value);
                    if (value is null)
                    {
                        // ARG NAME inside a stage takes the global value, if any.
                        var global = _globalArgs.FindIndex(a => a.Key == def.Key);
                        value = global >= 0 ? _globalArgs[global].Value : null;
                    }
                    state.SetArg(def.Key, value);
                }
                // BuildKit gives each ARG of a stage its own (empty-layer) history entry: a config step that changes
                // nothing, so the image's history matches. Its key names the arguments, not their values: a value reaches a
                // result only through the later steps that see it (their build args, their expanded text), which are keyed
                // with it, so a changed value is explained there and not as a changed parent of every later step.
                ConfigStep(state, instruction, arg, "ARG " + Json(arg.Args.Select(d => d.Key)), config);
                return true;

            case EnvInstruction envInstruction:
            {
                var expanded = (EnvInstruction)envInstruction.Expand(word);
                var list = config.Env;
                foreach (var kv in expanded.Env)
                {
                    list = ImageEnv.AddEnv(list, kv.Key, kv.Value);
                    state.ArgsOverEnv.Remove(kv.Key); // the later ENV wins over an earlier ARG again
                }
                ConfigStep(state, instruction, expanded, "ENV " + Json(expanded.Env.Select(kv => kv.Key + "=" + kv.Value)), config with { Env = list });
                return true;
            }

            case LabelInstruction label:
            {
                var expanded = (LabelInstruction)label.Expand(word);
                var labels = new Dictionary<string, string>(config.Labels);
                foreach (var kv in expanded.Labels)
                    labels[kv.Key] = kv.Value;
                ConfigStep(state, instruction, expanded, "LABEL " + Json(expanded.Labels.Select(kv => kv.Key + "=" + kv.Value)), config with { Labels = labels });
                return true;
            }

            case WorkdirInstruction workdir:
            {
                var expanded = (WorkdirInstruction)workdir.Expand(word);
                // BuildKit's NormalizeWorkdir: an absolute path is kept as written (a trailing slash too), a relative one is
                // joined with the current WORKDIR (and so cleaned)
                var path = expanded.Path.StartsWith('/') ? expanded.Path : GoPath.Join("/", config.WorkingDir, expanded.Path);
                // BuildKit makes the directory at WORKDIR time (mkdir -p, owned by the USER of that moment): a step of its
                // own, so an image whose WORKDIR no RUN follows still has it. "/" always exists: config only.
                var next = config with { WorkingDir = path };
                state.Config = next;
                // its history entry names the resolved path ("WORKDIR rel" after /srv records "WORKDIR /srv/rel")
                AddStep(state, NextStep(state, GoPath.Clean(path) == "/" ? StepKind.Config : StepKind.Workdir, instruction,
                    expanded with { Path = path }, "WORKDIR " + Json([path]), next) with { CreatedBy = "WORKDIR " + path });
                return true;
            }

            case UserInstruction user:
            {
                var expanded = (UserInstruction)user.Expand(word);
                ConfigStep(state, instruction, expanded, "USER " + Json([expanded.User]), config with { User = expanded.User });
                return true;
            }

            case CmdInstruction cmd:
            {
                var args = CommandArgs(cmd.Command, config);
                state.CmdSet = true;
                ConfigStep(state, instruction, cmd, "CMD " + Json(args), config with { Cmd = args });
                return true;
            }

            case EntrypointInstruction entrypoint:
            {
                var args = CommandArgs(entrypoint.Command, config);
                // An ENTRYPOINT resets an inherited CMD, but not one set earlier in this stage.
                var next = config with { Entrypoint = args, Cmd = state.CmdSet ? config.Cmd : null };
                ConfigStep(state, instruction, entrypoint, "ENTRYPOINT " + Json(args), next);
                return true;
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
                return true;
            }

            case VolumeInstruction volume:
            {
                var expanded = (VolumeInstruction)volume.Expand(word);
                foreach (var v in expanded.Volumes)
                {
                    if (v.Trim().Length == 0)
                        throw Error("VOLUME specified can not be an empty string; expected a path", location);
                }
                var all = config.Volumes.Concat(expanded.Volumes).Distinct(StringComparer.Ordinal).ToArray();
                ConfigStep(state, instruction, expanded, "VOLUME " + Json(expanded.Volumes), config with { Volumes = all });
                return true;
            }

            case StopSignalInstruction stop:
            {
                var expanded = (StopSignalInstruction)stop.Expand(word);
                ConfigStep(state, instruction, expanded, "STOPSIGNAL " + Json([expanded.Signal]), config with { StopSignal = expanded.Signal });
                return true;
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
                return true;

            case ShellInstruction shell:
                ConfigStep(state, instruction, shell, "SHELL " + Json(shell.Shell), config with { Shell = shell.Shell });
                return true;

            case OnbuildInstruction onbuild:
                ConfigStep(state, instruction, onbuild, "ONBUILD " + Json([onbuild.Expression]), config with { OnBuild = config.OnBuild.Append(onbuild.Expression).ToArray() });
                return true;

            case MaintainerInstruction maintainer:
                ConfigStep(state, instruction, maintainer, "MAINTAINER " + Json([maintainer.Maintainer]), config with { Author = maintainer.Maintainer });
                return true;

            default:
                return false;
        }
    }

    private void ConfigStep(StageState state, Instruction original, Instruction expanded, string text, ImageConfigState next,
        StepKind kind = StepKind.Config)
    {
        state.Config = next;
        AddStep(state, NextStep(state, kind, original, expanded, text, next));
    }
}
