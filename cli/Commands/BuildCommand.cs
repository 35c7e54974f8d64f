using System.CommandLine;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm build</c>: the flags and meaning of <c>docker buildx build</c>.</summary>
public static class BuildCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var context = new Argument<string>("CONTEXT") { Description = "Build context directory" };
        var file = new Option<string?>("--file", "-f") { Description = "Name of the Dockerfile (default: CONTEXT/Dockerfile)" };
        var tags = new Option<string[]>("--tag", "-t") { Description = "Image name and optionally a tag (name:tag)", AllowMultipleArgumentsPerToken = false };
        var buildArgs = new Option<string[]>("--build-arg") { Description = "Set build-time variables (K=V, or K to take it from the environment)" };
        var target = new Option<string?>("--target") { Description = "Set the target build stage to build" };
        var secrets = new Option<string[]>("--secret") { Description = "Secret to expose to the build: id=ID,src=PATH or id=ID,env=VAR" };
        var noCache = new Option<bool>("--no-cache") { Description = "Do not use cache when building the image" };
        var noCacheFilter = new Option<string[]>("--no-cache-filter") { Description = "Do not cache the specified stages" };
        var pull = new Option<bool>("--pull") { Description = "Always attempt to pull all referenced images" };
        var labels = new Option<string[]>("--label") { Description = "Set metadata for an image (K=V)" };
        var progress = new Option<string>("--progress") { Description = "Set type of progress output (auto, tty, plain, rawjson, quiet); auto: tty when stderr is a terminal and CI is unset", DefaultValueFactory = _ => "auto" };
        progress.AcceptOnlyFromAmong("auto", "tty", "plain", "quiet", "rawjson");
        var outputs = new Option<string[]>("--output", "-o") { Description = "Output destination (type=oci|docker|local|image,dest=PATH; a bare PATH means type=local)" };
        var push = new Option<bool>("--push") { Description = "Push the image to every --tag name (shorthand for --output=type=image,push=true)" };
        var load = new Option<bool>("--load") { Description = "Load the image into the docker daemon (DOCKER_HOST, else /var/run/docker.sock), as docker load; with no daemon it stays in buildfarm's image store" };
        var iidFile = new Option<string?>("--iidfile") { Description = "Write the image ID (manifest digest) to the file" };
        var metadataFile = new Option<string?>("--metadata-file") { Description = "Write build result metadata to a file" };
        var platform = new Option<string?>("--platform") { Description = "Set target platforms for build: os/arch[/variant][,…] (default linux/amd64; several make one image index)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress the build output and print image ID on success" };
        var server = new Option<string?>("--server") { Description = "Address of a buildfarm server: HOST:PORT, or https://HOST:PORT for TLS (default: run embedded in this process)" };
        var embedded = new Option<bool>("--embedded") { Description = "Build in this process (a one-node engine of its own) instead of through this home's resident engine (default BUILDFARM_ENGINE=resident)" };
        var allow = new Option<string[]>("--allow") { Description = "Allow extra privileged entitlement (security.insecure: RUN --security=insecure; network.host: RUN --network=host)" };
        var call = new Option<string?>("--call") { Description = "Set method for evaluating build (build, check, outline, targets; NAME,format=json for outline and targets)" };
        var print = new Option<string?>("--print") { Description = "buildx 0.13's experimental spelling of --call: outline or targets[,format=json]", Hidden = true };
        var check = new Option<bool>("--check") { Description = "Shorthand for \"--call=check\"" };
        var network = new Option<string?>("--network") { Description = "Set the networking mode for the RUN instructions during build (default, none, host)" };
        var addHosts = new Option<string[]>("--add-host") { Description = "Add a custom host-to-IP mapping (format: \"host:ip\")" };
        var shmSize = new Option<string?>("--shm-size") { Description = "Shared memory size for build containers (64m, 1g)" };
        var ulimits = new Option<string[]>("--ulimit") { Description = "Ulimit options (nofile=1024:2048)" };
        var cacheFrom = new Option<string[]>("--cache-from") { Description = "External cache sources (type=local,src=DIR or type=registry,ref=NAME; BuildKit's cache format)" };
        var cacheTo = new Option<string[]>("--cache-to") { Description = "Cache export destinations (type=local,dest=DIR or type=registry,ref=NAME[,mode=min|max])" };
        var ssh = new Option<string[]>("--ssh") { Description = "SSH agent socket or keys to expose to the build (default|ID[=SOCKET|KEY[,KEY]])" };
        var buildContexts = new Option<string[]>("--build-context") { Description = "Additional build contexts (NAME=DIR|docker-image://REF|oci-layout://PATH[@digest|:tag]|target:STAGE)" };
        var limits = new RunLimitOptions();
        var remote = new Remote.RemoteOptions();

        var command = new Command("build", "Start a build (like docker buildx build)")
        {
            context, file, tags, buildArgs, target, secrets, noCache, noCacheFilter, pull, labels, progress, outputs, push, load,
            iidFile, metadataFile, platform, quiet, server, allow, embedded,
        };
        command.Options.Add(cacheFrom);
        command.Options.Add(cacheTo);
        command.Options.Add(call);
        command.Options.Add(check);
        command.Options.Add(print);
        foreach (var option in new Option[] { network, addHosts, shmSize, ulimits }) command.Options.Add(option);
        command.Options.Add(ssh);
        command.Options.Add(buildContexts);
        foreach (var option in limits.All) command.Options.Add(option);
        foreach (var option in remote.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            BuildInvocation invocation;
            try
            {
                var contextDir = Path.GetFullPath(parse.GetValue(context)!);
                if (!Directory.Exists(contextDir))
                    throw new UsageException($"unable to prepare context: path \"{parse.GetValue(context)}\" not found");
                var dockerfilePath = parse.GetValue(file) is { } f
                    ? Path.GetFullPath(f)
                    : Path.Combine(contextDir, "Dockerfile");
                if (!File.Exists(dockerfilePath))
                    throw new UsageException($"failed to read dockerfile: open {dockerfilePath}: no such file or directory");

                var spec = new BuildSpec
                {
                    DockerfilePath = Path.GetRelativePath(Directory.GetCurrentDirectory(), dockerfilePath),
                    Dockerfile = Google.Protobuf.ByteString.CopyFrom(await File.ReadAllBytesAsync(dockerfilePath, cancellationToken)),
                    Target = parse.GetValue(target) ?? "",
                    NoCache = parse.GetValue(noCache),
                    Pull = parse.GetValue(pull),
                    Push = parse.GetValue(push),
                    Platform = parse.GetValue(platform) ?? "",
                    SourceDateEpoch = environment.SourceDateEpoch,
                };
                spec.Tags.AddRange(parse.GetValue(tags) ?? []);
                spec.NoCacheFilter.AddRange(parse.GetValue(noCacheFilter) ?? []);
                foreach (var (k, v) in BuildArguments.ParseBuildArgs(parse.GetValue(buildArgs) ?? [], environment))
                    spec.BuildArgs[k] = v;
                foreach (var (k, v) in BuildArguments.ParseKeyValues(parse.GetValue(labels) ?? [], "--label"))
                    spec.Labels[k] = v;
                foreach (var secret in parse.GetValue(secrets) ?? [])
                    spec.Secrets.Add(await BuildArguments.ReadSecretAsync(secret, environment, cancellationToken));
                foreach (var entry in parse.GetValue(ssh) ?? [])
                    spec.Ssh.Add(BuildArguments.ParseSsh(entry, environment));
                foreach (var (name, source) in (parse.GetValue(buildContexts) ?? []).Select(BuildArguments.ParseBuildContext))
                    spec.NamedContexts[name] = source;
                foreach (var output in parse.GetValue(outputs) ?? [])
                    spec.Outputs.Add(BuildArguments.ParseOutput(output));
                foreach (var value in parse.GetValue(cacheFrom) ?? [])
                    spec.CacheFrom.Add(BuildArguments.ParseCacheOption(value, "--cache-from"));
                foreach (var value in parse.GetValue(cacheTo) ?? [])
                    spec.CacheTo.Add(BuildArguments.ParseCacheOption(value, "--cache-to"));
                if (parse.GetValue(server) is not null && spec.CacheFrom.Concat(spec.CacheTo).FirstOrDefault(c => c.Type == "local") is { } localCache)
                    throw new UsageException($"--cache-{(spec.CacheFrom.Contains(localCache) ? "from" : "to")} type=local is not supported with --server " +
                                             "(the farm runs the cache import/export and does not touch this machine's folders): use type=registry,ref=NAME");
                foreach (var entitlement in parse.GetValue(allow) ?? [])
                {
                    if (!Coordinator.Builds.Entitlements.Known.Contains(entitlement))
                        throw new UsageException($"--allow {entitlement}: unknown entitlement (known: {string.Join(", ", Coordinator.Builds.Entitlements.Known)})");
                    spec.Entitlements.Add(entitlement);
                }
                var (callName, callFormat) = BuildArguments.ParseCallFunction(parse.GetValue(call), parse.GetValue(print), parse.GetValue(check));
                spec.Call = callName;
                spec.Network = RunOptionArguments.ParseNetwork(parse.GetValue(network));
                spec.ExtraHosts.AddRange((parse.GetValue(addHosts) ?? []).Select(RunOptionArguments.ParseExtraHost));
                spec.ShmSize = RunOptionArguments.ParseShmSize(parse.GetValue(shmSize));
                spec.Ulimits.AddRange((parse.GetValue(ulimits) ?? []).Select(RunOptionArguments.ParseUlimit));
                // asked of whichever worker runs the RUN steps (a server's clamps them to its own); embedded, they are its worker's too
                if (limits.Asked(parse) is { } asked)
                    spec.RunLimits = Worker.Execution.RunLimitsMessage.FromAsked(asked);
                // --load (or -o type=docker with no dest, as buildx): a Docker archive the build writes, then POST /images/load
                (DockerEngineLoad, string)? loadInto = null;
                var wantsLoad = parse.GetValue(load);
                foreach (var dockerOutput in spec.Outputs.Where(o => o.Type == "docker" && !o.Attrs.ContainsKey("dest")).ToList())
                {
                    spec.Outputs.Remove(dockerOutput);
                    wantsLoad = true;
                }
                var daemon = wantsLoad ? DockerEngineLoad.Locate(environment) : null;
                if (daemon is not null)
                {
                    // A docker daemon's image store takes one image per name: buildx refuses before building, with these words.
                    if (spec.Platform.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().Count() > 1)
                        throw new UsageException("docker exporter does not currently support exporting manifest lists");
                    var archive = Path.Combine(Path.GetTempPath(), $"buildfarm-load-{Environment.ProcessId}-{Guid.NewGuid():N}.tar");
                    spec.Outputs.Add(new OutputSpec { Type = "docker", Attrs = { ["dest"] = archive } });
                    loadInto = (daemon, archive);
                }
                var runLimits = limits.Parse(parse);
                var progressMode = parse.GetValue(quiet) ? "quiet" : parse.GetValue(progress)!;
                invocation = new BuildInvocation(spec, contextDir, dockerfilePath, progressMode,
                    parse.GetValue(iidFile), parse.GetValue(metadataFile), parse.GetValue(quiet), parse.GetValue(server),
                    parse.GetValue(noCacheFilter) ?? [], environment)
                {
                    RunLimits = runLimits,
                    Remote = parse.GetValue(server) is null ? Remote.RemoteEndpointOptions.None : remote.Resolve(parse, environment),
                    Load = loadInto,
                    LoadIntoFarmStore = wantsLoad && daemon is null,
                    CallFormat = callFormat,
                };
                if (parse.GetValue(embedded) && invocation.Server is not null)
                    throw new UsageException("--embedded and --server exclude each other");
                // No --server: this home's resident engine, started if none runs, unless asked to build in-process.
                if (invocation.Server is null && !parse.GetValue(embedded) && environment.EngineMode == EngineMode.Resident)
                    invocation = invocation with { Server = "unix:" + await new Engine.ResidentEngine(environment).EnsureAsync(cancellationToken) };
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 130; // interrupted while waiting for the engine to start (it goes on starting for the next build)
            }
            catch (Engine.EngineStartException e)
            {
                await Console.Error.WriteLineAsync($"ERROR: the build engine: {e.Message} (--embedded builds without it)");
                return 1;
            }
            catch (UsageException e)
            {
                await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
                return 1;
            }
            return await EmbeddedBuild.RunAsync(invocation, cancellationToken);
        });
        return command;
    }
}
