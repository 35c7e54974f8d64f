using System.Globalization;
using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Planning;

/// <summary>RUN and its mounts (BuildKit's dispatchRun, convert_runmount.go, convert_secrets.go).</summary>
internal sealed partial class PlannerRun
{
    private void PlanRun(StageState state, RunInstruction run, IShellEnvironment env, Func<string, string> word)
    {
        var location = run.Location;
        var config = state.Config;
        // Secret ids and targets are resolved here, once: the key and the executed instruction share the result.
        IReadOnlyList<RunMount> mounts = Expand(() => run.ExpandMounts(word).Select(SecretMountResolver.Resolve).ToArray(), location);
        // A relative target (target=rel, target=.) is relative to WORKDIR, as BuildKit joins it (convert_runmount.go).
        mounts = mounts.Select(m => m.Target.Length > 0 && !m.Target.StartsWith('/')
            ? m with { Target = GoPath.Join("/", config.WorkingDir, m.Target) }
            : m).ToArray();
        // A RUN --network wins over the build's --network; the expanded instruction carries the one the step runs with.
        CaptureMounts(state, mounts, location);
        var network = run.Network != RunNetwork.Default ? run.Network : options.Run.Network;
        var expanded = run with
        {
            Mounts = run.Mounts.Select((spec, i) => RunMountSpec.FromMount(spec.Text, mounts[i])).ToArray(),
            Network = network,
        };
        var args = CommandArgs(run.Command, config);

        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (network != RunNetwork.Default)
            flags["network"] = network;
        // BuildKit's ExecOp key holds these too (extra hosts by name only: its cache map clears the IPs).
        if (options.Run.ExtraHosts.Count > 0)
            flags["add-host"] = Json(options.Run.ExtraHosts.Select(h => h.Host));
        if (options.Run.ShmSize > 0)
            flags["shm-size"] = options.Run.ShmSize.ToString(CultureInfo.InvariantCulture);
        if (options.Run.Ulimits.Count > 0)
            flags["ulimit"] = Json(options.Run.Ulimits.Select(u => u.ToString()));
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
            if (v is not null && (!envMap.ContainsKey(k) || state.ArgsOverEnv.Contains(k)))
                visibleArgs[k] = v;
        }

        // An ARG declared after an ENV of its name replaces it in the RUN's environment.
        var runEnv = config.Env.Where(e => !visibleArgs.ContainsKey(ImageEnv.ParseKeyValue(e).Key)).ToList();
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

        AddStep(state, NextStep(state, StepKind.Run, run, expanded, instructionText, config) with
        {
            DependsOn = sources.Where(s => s.StepId is not null).Select(s => s.StepId!).Distinct().ToArray(),
            Flags = flags,
            BuildArgs = visibleArgs,
            Env = envMap,
            Mounts = normalized,
            Sources = sources,
            ContextSelections = selections,
            RunArgs = args,
            RunEnvironment = runEnv,
        });
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
        Put("mode", mount.Mode is { } mode ? Convert.ToString(mode, 8) : null); // .NET has no octal format specifier
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
}
