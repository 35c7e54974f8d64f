using System.Text;
using BuildFarm.Cache;
using BuildFarm.Coordinator.CacheIo;
using BuildFarm.Coordinator.CacheIo.BuildKitKeys;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Export;
using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Oci;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;

namespace BuildFarm.Coordinator.Builds;

/// <summary>
/// One build from spec to image: plan the Dockerfile, pin base images, fill the cache keys from the context, let the
/// engine run the step graph, then assemble the image and write the outputs. Shared by the embedded CLI and the
/// gRPC service; the actors only ever see the graph. The engine may still be starting: planning and context
/// checksums need no actor, so they overlap the cluster's start and only the step graph waits for it.
/// </summary>
public sealed partial class BuildRunner(
    Task<EngineNode> engineStarted, IContentStore store, BaseImageResolver bases, LocalImageStore images, ImageOutputs outputs, string scratch,
    string? contextHashCache = null, TextWriter? traceOutput = null)
{
    /// <summary>Publish each build's context to the store and send workers its manifest digest (a served farm: workers
    /// never read this host's disk). Off for embedded builds, whose worker reads the context folder in place.</summary>
    public bool PublishContexts { get; init; }

    /// <summary>This host (Protos.HostIdentity): the build's ssh sockets are on it, so a worker elsewhere relays them.</summary>
    public string HostIdentity { get; init; } = Protos.HostIdentity.Of(null);

    /// <summary>The step id of the Info event that says the context was published (served builds only).</summary>
    public const string ContextStepId = "context";

    /// <summary>Entitlements this server lets a build ask for (buildkitd's --allow-insecure-entitlement); the embedded
    /// engine runs for the user who asks, so it allows every one.</summary>
    public IReadOnlyCollection<string> EntitlementsAllowed { get; init; } = Entitlements.Known;

    /// <summary>--cache-from/--cache-to (BuildKit's cache format); null: a build that asks for them is refused.</summary>
    public BuildCacheIo? CacheIo { get; init; }

    /// <summary>False: --cache-from is refused (a farm's store is shared, and an imported record is trusted as is).</summary>
    public bool CacheImportAllowed { get; init; } = true;

    /// <summary>This host's registry client (its docker config's logins), for a build that sent no logins of its own.</summary>
    public Func<RegistryClient>? Registry { get; init; }

    /// <summary>Whether a spec's paths (BuildSpec.ssh agent sockets, --build-context folders and OCI layouts) are on this
    /// host (the embedded build, whose client is this process). A server leaves it off: a client must not name the
    /// server's own files or sockets.</summary>
    public bool ClientPathsAreLocal { get; init; }

    public Task<BuildOutcome> RunAsync(BuildSpec spec, string contextDirectory, IReadOnlyList<string> noCacheFilter,
        Action<ProgressEvent> progress, CancellationToken cancellationToken) =>
        RunAsync(spec, contextDirectory, noCacheFilter, progress, BuildTicket.Local(), null, cancellationToken);

    /// <param name="ticket">The build's id (the one its caller can Watch or Cancel) and its team.</param>
    /// <param name="pushCredentials">When set, the build pushes with these credentials only (a served build: its client's,
    /// for this build alone) instead of this host's registry client.</param>
    public async Task<BuildOutcome> RunAsync(BuildSpec spec, string contextDirectory, IReadOnlyList<string> noCacheFilter,
        Action<ProgressEvent> progress, BuildTicket ticket, IRegistryCredentialProvider? pushCredentials, CancellationToken cancellationToken)
    {
        var trace = new PhaseTrace(traceOutput);
        if ((BuildCalls.Problem(spec.Call) ?? RunOptionsProblem(spec)) is { } badSpec)
            return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = badSpec };
        var fileName = Path.GetFileName(spec.DockerfilePath is { Length: > 0 } given ? given : "Dockerfile");
        var text = spec.Dockerfile.ToString(Encoding.UTF8);
        // --call=targets reads the stages only (BuildKit's ListTargets): no plan, no base image
        if (BuildCalls.IsTargets(spec.Call)) return TargetsOf(spec, text, fileName);
        IReadOnlyList<PlatformSpec> platformSpecs;
        try
        {
            platformSpecs = PlatformSpec.ParseList(spec.Platform);
        }
        catch (FormatException e)
        {
            return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = "--platform: " + e.Message };
        }

        // --build-context: images by name go to the planner as references; folders and layouts become images of the store.
        var contextImages = new Dictionary<string, string>(StringComparer.Ordinal);
        var contextStages = new Dictionary<string, string>(StringComparer.Ordinal);
        var contextSources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in spec.NamedContexts)
        {
            var source = NamedContextSource.Parse(value);
            if (source.Kind == NamedContextKind.Image)
                contextImages[name] = source.Path;
            else if (source.Kind == NamedContextKind.Stage)
                contextStages[name] = source.Path;
            else if (ticket.NamedContextFolders.TryGetValue(name, out var received))
            {
                // a served build: the files its client sent for this context, written here
                contextImages[name] = NamedContextImages.ReferenceOf(name);
                contextSources[NamedContextImages.ReferenceOf(name)] = source.At(received);
            }
            else if (!ClientPathsAreLocal)
                return new BuildOutcome
                {
                    ErrorClass = ErrorClass.UserError,
                    Error = $"--build-context {name}={value}: the client sent no files for this folder or OCI layout (a client older than " +
                            "the server sends none: upgrade it, or use docker-image:// or target:)",
                };
            else
            {
                contextImages[name] = NamedContextImages.ReferenceOf(name);
                contextSources[NamedContextImages.ReferenceOf(name)] = value;
            }
        }
        var baseOptions = new PlanOptions
        {
            Target = spec.Target,
            BuildArgs = spec.BuildArgs.ToDictionary(),
            TargetPlatform = platformSpecs[0],
            BuildPlatform = PlatformSpec.Native,
            Run = RunOptionsOf(spec),
            NamedContextImages = contextImages,
            NamedContextStages = contextStages,
        };
        // A resident engine's caller pulls with its own docker config and proxies (ClientRegistryAccess); others with this host's.
        using var pullClient = ticket.PullRegistry?.Invoke();
        var buildBases = pullClient is null ? bases : bases.WithClient(pullClient);
        var namedImages = new NamedContextImages(store, buildBases, scratch);

        var targets = new List<PlatformBuild>();
        LintResult checks = default!;
        try
        {
            foreach (var platformSpec in platformSpecs)
            {
                var (target, options) = await PlanPlatformAsync(spec, text, fileName, baseOptions with { TargetPlatform = platformSpec },
                    contextSources, namedImages, progress, cancellationToken, buildBases);
                // The checks read the Dockerfile once (the first platform's plan), as buildx reports them once.
                if (targets.Count == 0 && !BuildCalls.IsOutline(spec.Call)) checks = await CheckAsync(spec, text, fileName, options, target.Plan, contextDirectory, cancellationToken);
                targets.Add(target);
            }
        }
        catch (DockerfileException e)
        {
            return new BuildOutcome
            {
                ErrorClass = ErrorClass.UserError,
                Error = "failed to solve: " + e.Reason,
                ErrorLocation = e.Line > 0 ? $"{e.FileName}:{e.Line}" : "",
                LintWarnings = await WarningsDespiteAsync(spec, text, fileName, baseOptions, contextDirectory, cancellationToken),
            };
        }
        catch (Exception e) when (e is NamedContextException or InvalidOciDocumentException)
        {
            return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = "failed to solve: " + e.Message };
        }
        catch (Exception e) when (e is Oci.Registry.RegistryException or HttpRequestException or FormatException or Oci.Images.PlatformNotFoundException)
        {
            return new BuildOutcome
            {
                // A registry that does not answer may answer later; a name it does not know is the user's to fix.
                ErrorClass = e is HttpRequestException ? ErrorClass.Unavailable : ErrorClass.UserError,
                Error = "failed to resolve source metadata: " + e.Message,
            };
        }

        trace.Mark("resolve bases");
        // --call=outline: what the (first platform's) target needs, once its bases are resolved as BuildKit resolves them
        if (BuildCalls.IsOutline(spec.Call))
            return Answer(Calls.OutlineDocument.From(targets[0].Plan.Outline, spec.Dockerfile.ToByteArray()));
        if (BuildCalls.IsCheck(spec.Call))
            return new BuildOutcome { Success = true, CheckOnly = true, LintWarnings = checks.Warnings };
        if (checks.Error is { } lintError)
            return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = "failed to solve: " + lintError, LintWarnings = checks.Warnings };
        if (RunLimitsCheck.Problem(spec.RunLimits) is { } badLimit)
            return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = badLimit };
        foreach (var target in targets)
        {
            if (Entitlements.FirstDenied(target.Plan, spec.Entitlements, EntitlementsAllowed) is var (denied, deniedStep))
            {
                return new BuildOutcome
                {
                    ErrorClass = ErrorClass.UserError,
                    Error = "failed to solve: " + denied,
                    ErrorLocation = $"{deniedStep.Location.FileName}:{deniedStep.Location.StartLine}",
                };
            }
        }
        using var context = await BuildContext.OpenAsync(contextDirectory, DockerfileInContext(spec, contextDirectory), scratch,
            contextHashCache is null ? null : ContextHashCache.Open(contextHashCache, contextDirectory), cancellationToken);
        trace.Mark("context walk");
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            PlanKeys keys;
            ResolvingInputs resolver;
            try
            {
                resolver = new ResolvingInputs(target.Resolved, context, AgentSocketsOf(spec, ticket));
                keys = await target.Plan.ComputeKeysAsync(resolver, cancellationToken);
            }
            catch (DockerfileException e)
            {
                // a git source that cannot be pinned (no such ref, repository unreachable) is the Dockerfile's to fix
                return new BuildOutcome
                {
                    ErrorClass = ErrorClass.UserError,
                    Error = "failed to solve: " + e.Reason,
                    ErrorLocation = e.Line > 0 ? $"{e.FileName}:{e.Line}" : "",
                };
            }
            var graph = PlanGraphBuilder.Build(target.Plan, keys, target.Resolved, spec, noCacheFilter);
            resolver.AnnotateSshSources(graph);
            // BuildKit's keys for the steps that have them: a cache BuildKit exported hits, and ours hits in BuildKit
            if (spec.CacheFrom.Count > 0 || spec.CacheTo.Count > 0)
                BuildKitGraphKeys.Annotate(graph, target.Plan, target.Resolved, context.Directory, cancellationToken);
            // BuildKit names each platform's vertices "[linux/arm64 build 2/4] RUN make" when it builds several.
            if (targets.Count > 1)
                foreach (var node in graph.Nodes.Where(n => n.DisplayName.StartsWith('[')))
                    node.DisplayName = $"[{target.Platform} {node.DisplayName[1..]}";
            targets[i] = target with { Graph = graph };
        }
        trace.Mark("cache keys");
        var contextRef = PublishContexts && !ticket.ContextInPlace
            ? await PublishAsync(context, progress, cancellationToken)
            : new ContextRef { LocalDir = context.Directory };
        trace.Mark("context publish");
        if (spec.CacheFrom.Count > 0 || spec.CacheTo.Count > 0)
        {
            if (CacheProblem(spec) is { } cacheProblem)
                return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = cacheProblem };
            try
            {
                // Before the graph: the imported records make its steps hits like any record of this store.
                foreach (var option in spec.CacheFrom)
                    await WithRegistryAsync(pushCredentials, client => CacheIo!.ImportAsync(option, client, progress, cancellationToken,
                        [.. targets.Select(t => t.Graph).OfType<BuildGraph>()]));
            }
            catch (Exception e) when (e is InvalidCacheException or Oci.InvalidOciDocumentException or RegistryException or DigestMismatchException
                                          or BlobDigestMismatchException or HttpRequestException)
            {
                return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = "failed to import cache: " + e.Message };
            }
            if (spec.CacheFrom.Count > 0) trace.Mark("cache import");
        }
        var engine = await engineStarted.WaitAsync(cancellationToken);
        trace.Mark("engine start");

        // A blob found corrupted (or pruned) after its step was a cache hit is gone from the store by now, so its record
        // is a miss on a second run of the graph: the step runs again instead of the build failing.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunGraphsAndExportAsync(spec, targets, contextRef, engine, progress, ticket, trace,
                    pushCredentials, cancellationToken) with { LintWarnings = checks.Warnings };
            }
            catch (BlobNotFoundException e) when (attempt == 1)
            {
                progress(new ProgressEvent
                {
                    Kind = ProgressEvent.Types.Kind.Info,
                    StepId = "retry",
                    Name = $"[internal] {e.Message}; running the steps that need it again",
                    StartedUnixMs = Now(),
                    CompletedUnixMs = Now(),
                });
            }
            catch (BlobNotFoundException e)
            {
                return new BuildOutcome { Error = "failed to export image: " + e.Message };
            }
        }
    }

    /// <summary>Plans the Dockerfile for one target platform (TARGET* args; BUILD* are this host's), pins each base image
    /// for the platform its stage runs on (a FROM --platform=$BUILDPLATFORM stage gets the native manifest), and plans
    /// again with the bases' configs.</summary>
    private async Task<(PlatformBuild Build, PlanOptions Options)> PlanPlatformAsync(BuildSpec spec, string text, string fileName,
        PlanOptions options, IReadOnlyDictionary<string, string> contextSources, NamedContextImages namedImages,
        Action<ProgressEvent> progress, CancellationToken cancellationToken, BaseImageResolver? buildBases = null)
    {
        var target = options.TargetPlatform;
        var plan = DockerfilePlanner.Plan(text, options, fileName);
        var resolved = new Dictionary<string, ResolvedImage>(StringComparer.Ordinal);
        var configs = new Dictionary<string, BaseImageConfig>(StringComparer.Ordinal);
        // The target platform's bases first: the planner's base configs are keyed by reference alone.
        foreach (var (reference, platformText) in plan.ExternalImagesByPlatform.OrderBy(p => p.Platform == target.ToString() ? 0 : 1))
        {
            var started = Now();
            var basePlatform = PlatformSpec.Parse(platformText).ToPlatform();
            var baseImage = contextSources.TryGetValue(reference, out var contextValue)
                ? await namedImages.ResolveAsync(reference, contextValue, basePlatform, cancellationToken)
                : await (buildBases ?? bases).ResolveAsync(reference, basePlatform, spec.Pull, cancellationToken);
            resolved[ResolvedImageKey.Of(reference, platformText)] = baseImage;
            configs.TryAdd(reference, new BaseImageConfig
            {
                Env = baseImage.Config.Config?.Env ?? [],
                WorkingDir = baseImage.Config.Config?.WorkingDir ?? "",
                User = baseImage.Config.Config?.User ?? "",
                OnBuild = baseImage.Config.Config?.OnBuild ?? [],
            });
            progress(new ProgressEvent
            {
                Kind = ProgressEvent.Types.Kind.Info,
                StepId = $"resolve {platformText} {reference}",
                Name = $"[internal] load metadata for {reference}@{baseImage.ManifestDigest}" + (platformText == PlatformSpec.LinuxAmd64.ToString() ? "" : $" ({platformText})"),
                StartedUnixMs = started,
                CompletedUnixMs = Now(),
            });
            // A single-platform base used for another platform builds (its binaries may still run, natively or not): say
            // so as BuildKit's InvalidBaseImagePlatform check does.
            var expected = PlatformSpec.Parse(platformText).ToPlatform();
            if (baseImage.Config.Architecture is { Length: > 0 } && !expected.Matches(baseImage.Config.Platform))
            {
                var actual = baseImage.Config.Platform with { OsVersion = null, OsFeatures = null };
                progress(new ProgressEvent
                {
                    Kind = ProgressEvent.Types.Kind.Info,
                    StepId = $"warning {platformText} {reference}",
                    Name = $"WARNING: InvalidBaseImagePlatform: Base image {reference} was pulled with platform \"{actual}\", expected \"{expected}\" for current build",
                    StartedUnixMs = Now(),
                    CompletedUnixMs = Now(),
                });
            }
        }
        // Plan again now that the bases' environment, WORKDIR, USER and ONBUILD are known.
        if (configs.Count > 0)
        {
            options = options with { BaseImages = configs };
            plan = DockerfilePlanner.Plan(text, options, fileName);
        }
        return (new PlatformBuild(target, plan, resolved), options);
    }

    // Only the entries that pass .dockerignore go into the manifest, so no worker can see an ignored file. For a served
    // build the blobs are in the store already (uploaded or proven), so this costs Exists calls and one manifest put.
    // The root is published as 0755 (the usual mode of a context folder; `COPY . /dst/` gives /dst the root's mode):
    // the served upload's folder is 0700 for this host's sake, and the client does not send its folder's mode.
    private async Task<ContextRef> PublishAsync(BuildContext context, Action<ProgressEvent> progress, CancellationToken cancellationToken)
    {
        var started = Now();
        var published = await new ContextPublisher(store).PublishAsync(context.Root, context.Entries, cancellationToken, rootPermissions: 0b111_101_101);
        progress(new ProgressEvent
        {
            Kind = ProgressEvent.Types.Kind.Info,
            StepId = ContextStepId,
            Name = $"[internal] publish build context {published.ManifestDigest} ({published.BlobsUploaded} blobs uploaded, {published.BlobsPresent} already stored)",
            StartedUnixMs = started,
            CompletedUnixMs = Now(),
        });
        return new ContextRef { ManifestDigest = published.ManifestDigest.ToString() };
    }

    private async Task<BuildOutcome> RunGraphsAndExportAsync(BuildSpec spec, IReadOnlyList<PlatformBuild> targets, ContextRef contextRef,
        EngineNode engine, Action<ProgressEvent> progress, BuildTicket ticket, PhaseTrace trace, IRegistryCredentialProvider? pushCredentials,
        CancellationToken cancellationToken)
    {
        // The platforms' graphs run at once (the pool spreads their steps over the workers); the first that fails cancels
        // the others. Progress from several graphs reaches one caller: one event at a time.
        using var siblings = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A build that pushes (or writes an OCI archive) stages and uploads each layer as soon as it exists, while later
        // steps still run.
        await using var prepush = StartPrepush(spec, targets, pushCredentials, cancellationToken);
        var gate = new Lock();
        void Report(ProgressEvent e) { lock (gate) progress(e); }
        async Task<BuildFinished?> RunOneAsync(PlatformBuild target)
        {
            var finished = await RunGraphAsync(spec, target.Graph!, target.BuildIdWithin(ticket.BuildId, targets.Count), contextRef, engine,
                targets.Count == 1 ? progress : Report, ticket, siblings.Token, prepush);
            if (finished is not { Success: true }) await siblings.CancelAsync();
            return finished;
        }
        var results = await Task.WhenAll(targets.Select(RunOneAsync));
        trace.Mark("step graph");
        // A base layer that failed to download explains a step that could not unpack it: its error speaks for the build.
        if (BaseDownloadFailure(targets, waited: false) is { } brokenBase && results.Any(f => f is not { Success: true }))
            return brokenBase;
        if (results.Any(f => f is not { Success: true }))
        {
            // The failure that caused the others' cancellation speaks for the build.
            var finished = results.FirstOrDefault(f => f is { Success: false, Canceled: false }) ?? results.FirstOrDefault(f => f is { Success: false });
            return new BuildOutcome
            {
                Canceled = finished?.Canceled ?? true,
                Error = finished?.Error ?? "canceled",
                ErrorLocation = finished?.ErrorLocation ?? "",
                ErrorInstruction = finished?.ErrorInstruction ?? "",
                LogTail = [.. finished?.LogTail ?? []],
                ExitCode = finished?.ExitCode ?? 0,
                ErrorClass = finished?.ErrorClass ?? ErrorClass.Canceled,
            };
        }

        // Layers no step unpacked may still be downloading: the image is only whole (and pushable) once they are in.
        try { await Task.WhenAll(targets.SelectMany(t => t.Resolved.Values).Select(r => r.Downloaded)); }
        catch (Exception) when (BaseDownloadFailure(targets, waited: true) is { } failed) { return failed; }
        trace.Mark("base downloads");

        var epoch = long.TryParse(spec.SourceDateEpoch, out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : (DateTimeOffset?)null;
        var assembled = new List<PlatformImage>();
        for (var i = 0; i < targets.Count; i++)
        {
            var platform = targets[i].Platform.ToPlatform();
            var image = await new ImageAssembler(store).AssembleAsync(targets[i].Plan, results[i]!, targets[i].Resolved, spec.Labels, epoch, platform, cancellationToken);
            assembled.Add(new PlatformImage(platform, image));
        }
        var names = spec.Tags.ToList();
        var built = assembled.Count == 1
            ? ExportedBuild.Single(assembled[0])
            : ExportedBuild.Of(await IndexBuilder.BuildAsync(store, assembled, cancellationToken));
        // The overlapped staging and uploads end before the outputs, so they find those blobs rather than sending them again.
        if (prepush is not null)
        {
            await prepush.DrainAsync();
            trace.Mark($"prepush ({prepush.Pushed} blobs)");
        }
        await WriteOutputsAsync(spec, built, names, progress, pushCredentials, cancellationToken, prepush);
        // The image store names the index when there is one (push, save and prune take every platform); its manifest and
        // config are the image one can run here: the native platform's when it was built.
        var local = (assembled.FirstOrDefault(a => a.Platform.Matches(PlatformSpec.Native.ToPlatform())) ?? assembled[0]).Image;
        // --cache-to: every platform's graph in one cache config (as BuildKit's), so --cache-from warms each platform
        foreach (var option in spec.CacheTo)
        {
            try
            {
                await WithRegistryAsync(pushCredentials, client => CacheIo!.ExportAsync(option, [.. targets.Select(t => t.Graph!)], client, progress, cancellationToken));
            }
            catch (Exception e) when (option.Attrs.GetValueOrDefault("ignore-error") == "true" && e is not OperationCanceledException)
            {
                progress(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Info, StepId = "cache-to", Name = $"WARNING: cache export failed (ignore-error=true): {e.Message}", StartedUnixMs = Now(), CompletedUnixMs = Now() });
            }
            catch (Exception e) when (e is InvalidCacheException or Oci.InvalidOciDocumentException or RegistryException or HttpRequestException
                                          or IOException or UnauthorizedAccessException)
            {
                return new BuildOutcome { ErrorClass = ErrorClass.UserError, Error = "failed to export cache: " + e.Message };
            }
        }
        // -o type=image,name=A,B names the image in the image store too, as buildx's image exporter does
        var stored = names.Concat(spec.Outputs.Where(o => o.Type == "image" && o.Attrs.ContainsKey("name"))
            .SelectMany(o => o.Attrs["name"].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            .Distinct(StringComparer.Ordinal).ToList();
        foreach (var name in stored)
        {
            await images.TagAsync(new LocalImage
            {
                Name = name,
                ManifestDigest = local.ManifestDigest.ToString(),
                ConfigDigest = local.ConfigDigest.ToString(),
                IndexDigest = built.Index?.IndexDigest.ToString(),
                Size = built.Size,
                Created = DateTimeOffset.UtcNow,
            }, cancellationToken);
        }
        trace.Mark("export");
        var steps = targets.SelectMany((t, i) => results[i]!.Outcomes
            .Where(o => t.Graph!.Nodes.First(n => n.Index == o.Index) is { IsBase: false, MetadataOnly: false })).ToList();
        return new BuildOutcome
        {
            Success = true,
            ManifestDigest = built.Digest.ToString(),
            ConfigDigest = built.Index is null ? local.ConfigDigest.ToString() : "",
            ManifestMediaType = built.Document.MediaType,
            ManifestSize = built.Document.Bytes.Length,
            BuildId = ticket.BuildId,
            ImageNames = stored,
            ImageSize = built.Size,
            StepsExecuted = steps.Count(o => !o.Cached),
            StepsCached = steps.Count(o => o.Cached),
        };
    }

    /// <summary>Runs one platform's step graph on the engine; null when it ended without a verdict (canceled).</summary>
    private async Task<BuildFinished?> RunGraphAsync(BuildSpec spec, BuildGraph graph, string buildId, ContextRef contextRef,
        EngineNode engine, Action<ProgressEvent> progress, BuildTicket ticket, CancellationToken cancellationToken, LayerPrepush? prepush = null)
    {
        BuildFinished? finished = null;
        var start = new StartBuild
        {
            BuildId = buildId,
            Team = ticket.Team,
            Graph = graph,
            Context = contextRef,
            // asks, not orders: each worker clamps them to its own limits; never in a cache key (see CacheKeyInputs)
            RunLimits = spec.RunLimits,
        };
        foreach (var (id, socket) in AgentSocketsOf(spec, ticket))
            start.SshSockets[id] = socket;
        if (start.SshSockets.Count > 0) start.SshHost = HostIdentity;
        // Values stay in this process (the build's secret provider); the graph carries references only.
        var secrets = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var secret in spec.Secrets) secrets[secret.Id] = secret.Value.ToByteArray();
        await foreach (var message in engine.RunBuildAsync(start, secrets, cancellationToken))
        {
            if (message is BuildProgress p)
            {
                progress(p.Event);
                prepush?.Offer(p.Layer);
            }
            else if (message is BuildFinished f) finished = f;
        }
        return finished;
    }

    /// <summary>The build's ssh agents by ssh id: sockets on this host. A served build's come from its own stream
    /// forwarding, never from the client's paths.</summary>
    private Dictionary<string, string> AgentSocketsOf(BuildSpec spec, BuildTicket ticket)
    {
        var sockets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ClientPathsAreLocal)
        {
            foreach (var ssh in spec.Ssh.Where(s => s.Paths.Count == 1))
                sockets[ssh.Id.Length > 0 ? ssh.Id : "default"] = ssh.Paths[0];
        }
        foreach (var (id, socket) in ticket.SshSockets)
            sockets[id] = socket;
        return sockets;
    }

    /// <summary>Writes the build's result where its outputs ask (one path for one image and a multi-platform index: see
    /// <see cref="ImageOutputs"/>).</summary>
    private async Task WriteOutputsAsync(BuildSpec spec, ExportedBuild built, IReadOnlyList<string> names,
        Action<ProgressEvent> progress, IRegistryCredentialProvider? pushCredentials, CancellationToken cancellationToken, LayerPrepush? prepush = null)
    {
        foreach (var output in spec.Outputs)
        {
            var started = Now();
            var dest = output.Attrs.GetValueOrDefault("dest") ?? "";
            var outputNames = output.Attrs.TryGetValue("name", out var n) ? n.Split(',', StringSplitOptions.RemoveEmptyEntries) : [.. names];
            string what;
            switch (output.Type)
            {
                case "oci":
                    await outputs.WriteOciArchiveAsync(built, dest, outputNames, cancellationToken, prepush is null ? null : prepush.StagedBlobPath);
                    what = $"exporting to oci image format {dest}";
                    break;
                case "docker":
                    // A docker archive holds no index; docker load takes several images, so each platform goes in, tagged
                    // on the build platform's (the one `docker run` here can start).
                    await outputs.WriteDockerArchiveAsync(built, PlatformSpec.Native.ToPlatform(), dest, outputNames, cancellationToken);
                    what = $"exporting to docker image format {dest}";
                    break;
                case "local":
                    await outputs.WriteLocalAsync(built, dest, cancellationToken);
                    what = $"copying files to {dest}";
                    break;
                case "tar":
                    await outputs.WriteFilesystemTarAsync(built, dest, cancellationToken);
                    what = $"sending tarball {dest}";
                    break;
                case "image" or "registry":
                    if (output.Type == "registry" || output.Attrs.GetValueOrDefault("push") == "true")
                        await PushAsync(built, outputNames, progress, pushCredentials, cancellationToken, prepush);
                    continue;
                default:
                    throw new InvalidOperationException($"output type {output.Type} is not supported");
            }
            progress(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Info, StepId = "export " + output.Type, Name = what, StartedUnixMs = started, CompletedUnixMs = Now() });
        }
        if (spec.Push) await PushAsync(built, names, progress, pushCredentials, cancellationToken, prepush);
    }

    private async Task PushAsync(ExportedBuild built, IReadOnlyList<string> names, Action<ProgressEvent> progress,
        IRegistryCredentialProvider? pushCredentials, CancellationToken cancellationToken, LayerPrepush? prepush = null)
    {
        Func<Oci.Digest, string?>? staged = prepush is null ? null : prepush.StagedBlobPath;
        var started = Now();
        if (pushCredentials is null)
        {
            await outputs.PushAsync(built, names, cancellationToken, staged);
        }
        else
        {
            // A client of its own for this push: the credentials die with it, and no other build's push can use them.
            using var client = new RegistryClient(new RegistryClientOptions { Credentials = pushCredentials });
            await outputs.PushAsync(built, names, client, cancellationToken, staged);
        }
        progress(new ProgressEvent
        {
            Kind = ProgressEvent.Types.Kind.Info,
            StepId = "push",
            Name = $"pushing {built.Digest} to {string.Join(", ", names)}",
            StartedUnixMs = started,
            CompletedUnixMs = Now(),
        });
    }

    private static BuildOutcome Answer(Calls.CallResult answer) => new() { Success = true, CallJson = answer.Json, CallText = answer.Text };

    private static BuildOutcome TargetsOf(BuildSpec spec, string text, string fileName)
    {
        try
        {
            return Answer(Calls.TargetsDocument.From(Dockerfile.Instructions.StageParser.ParseStages(text, fileName), spec.Dockerfile.ToByteArray()));
        }
        catch (DockerfileException e)
        {
            return new BuildOutcome
            {
                ErrorClass = ErrorClass.UserError,
                Error = "failed to solve: " + e.Reason,
                ErrorLocation = e.Line > 0 ? $"{e.FileName}:{e.Line}" : "",
            };
        }
    }

    private static string? DockerfileInContext(BuildSpec spec, string contextDirectory) =>
        spec.DockerfilePath is { Length: > 0 } path ? Path.GetFullPath(path) : Path.Combine(contextDirectory, "Dockerfile");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // A served build never reads or writes this host's folders for a client: its caches go through a registry.
    private string? CacheProblem(BuildSpec spec)
    {
        if (CacheIo is null) return "--cache-from/--cache-to are not available on this node";
        if (spec.CacheFrom.Count > 0 && !CacheImportAllowed)
            return "--cache-from is not allowed by this server: imported records would enter the farm's shared cache, which every build " +
                   "trusts (start it with --allow-cache-import)";
        foreach (var (option, flag) in spec.CacheFrom.Select(o => (o, "--cache-from")).Concat(spec.CacheTo.Select(o => (o, "--cache-to"))))
        {
            if (!BuildCacheIo.Types.Contains(option.Type))
                return $"{flag} type={option.Type} is not supported (expected {string.Join(" or ", BuildCacheIo.Types)})";
            if (option.Type == "local" && PublishContexts)
                return $"{flag} type=local is not supported through a server (the farm does not touch the client's folders): use type=registry,ref=NAME";
        }
        return null;
    }

    private async Task WithRegistryAsync(IRegistryCredentialProvider? credentials, Func<RegistryClient, Task> action)
    {
        if (credentials is null)
        {
            await action(Registry?.Invoke() ?? throw new InvalidOperationException("no registry client on this node"));
            return;
        }
        // A served build's own client: its logins die with it (as for its push).
        using var client = new RegistryClient(new RegistryClientOptions { Credentials = credentials });
        await action(client);
    }
}
