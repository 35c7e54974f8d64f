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
        var load = new Option<bool>("--load") { Description = "Keep the image in the local image store (the default when tags are given)" };
        var iidFile = new Option<string?>("--iidfile") { Description = "Write the image ID (manifest digest) to the file" };
        var metadataFile = new Option<string?>("--metadata-file") { Description = "Write build result metadata to a file" };
        var platform = new Option<string?>("--platform") { Description = "Set target platform for build (linux/amd64)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress the build output and print image ID on success" };
        var server = new Option<string?>("--server") { Description = "Address of a buildfarm server: HOST:PORT, or https://HOST:PORT for TLS (default: run embedded in this process)" };
        var embedded = new Option<bool>("--embedded") { Description = "Build in this process (a one-node engine of its own) instead of through this home's resident engine (default BUILDFARM_ENGINE=resident)" };
        var allow = new Option<string[]>("--allow") { Description = "Allow extra privileged entitlement (security.insecure: RUN --security=insecure)" };
        var limits = new RunLimitOptions();
        var remote = new Remote.RemoteOptions();

        var command = new Command("build", "Start a build (like docker buildx build)")
        {
            context, file, tags, buildArgs, target, secrets, noCache, noCacheFilter, pull, labels, progress, outputs, push, load,
            iidFile, metadataFile, platform, quiet, server, allow, embedded,
        };
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
                foreach (var output in parse.GetValue(outputs) ?? [])
                    spec.Outputs.Add(BuildArguments.ParseOutput(output));
                foreach (var entitlement in parse.GetValue(allow) ?? [])
                {
                    if (!Coordinator.Builds.Entitlements.Known.Contains(entitlement))
                        throw new UsageException($"--allow {entitlement}: unknown entitlement (known: {string.Join(", ", Coordinator.Builds.Entitlements.Known)})");
                    spec.Entitlements.Add(entitlement);
                }
                // asked of whichever worker runs the RUN steps (a server's clamps them to its own); embedded, they are its worker's too
                if (limits.Asked(parse) is { } asked)
                    spec.RunLimits = Worker.Execution.RunLimitsMessage.FromAsked(asked);
                var runLimits = limits.Parse(parse);
                var progressMode = parse.GetValue(quiet) ? "quiet" : parse.GetValue(progress)!;
                invocation = new BuildInvocation(spec, contextDir, dockerfilePath, progressMode,
                    parse.GetValue(iidFile), parse.GetValue(metadataFile), parse.GetValue(quiet), parse.GetValue(server),
                    parse.GetValue(noCacheFilter) ?? [], environment)
                {
                    RunLimits = runLimits,
                    Remote = parse.GetValue(server) is null ? Remote.RemoteEndpointOptions.None : remote.Resolve(parse, environment),
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
