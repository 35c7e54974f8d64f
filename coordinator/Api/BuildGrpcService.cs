using BuildFarm.Protos;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Protos.V1;
using Grpc.Core;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Coordinator.Api.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The public Build API: the client sends the spec and a manifest of its context (path, mode, size, sha256); the
/// server asks only for the blobs its content store lacks (and a proof of possession for those it has), rebuilds the
/// context from the store (<see cref="UploadedContextWriter"/>), runs the build
/// and streams progress back. Its first message is the build's id; sending Cancel cancels the build, and a client
/// that drops the call may re-attach with Watch (the build is canceled when nobody watches it for a grace period).
/// <c>ListWorkers</c> answers from the engine's worker pool.
/// </summary>
public sealed partial class BuildGrpcService(Task<EngineNode> engine, BuildRunner runner, IContentStore store, LocalImageStore images, string scratch)
    : BuildService.BuildServiceBase
{
    /// <summary>True on a resident engine's socket: every caller is the user whose store it is, so blobs the store has
    /// are used without a proof of possession (see <see cref="ContextReceiver"/>).</summary>
    public bool CallersOwnTheStore { get; init; }

    /// <summary>Whether this call's caller may have its context folder read in place (<c>ContextManifest.local_root</c>):
    /// true only for a resident engine's socket when the peer runs as the engine's own user. Default: never.</summary>
    public Func<ServerCallContext, bool> ReadsLocalContext { get; init; } = _ => false;

    public override async Task Build(IAsyncStreamReader<BuildRequest> requestStream, IServerStreamWriter<BuildResponse> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var caller = TokenInterceptor.CallerOf(context);
        var ticket = new BuildTicket(BuildTicket.NewId(), caller.Team);
        try
        {
            Builds.EnsureRoom(caller.Team, QueueLimits.LimitOf(caller.Team));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            new BuildLog(Logger, ticket.BuildId, ticket.Team).Refused(e.Status.Detail);
            throw;
        }
        var readsLocal = ReadsLocalContext(context);
        // The id comes first, before the client sends anything: it can Watch or Cancel the build by it if it loses the call.
        await responseStream.WriteAsync(new BuildResponse
        {
            Accepted = new BuildHandle { BuildId = ticket.BuildId, Team = caller.Team, ReadsLocalContext = readsLocal },
        }, cancellationToken);
        var spec = await ContextReceiver.NextAsync(requestStream, BuildRequest.MessageOneofCase.Spec, cancellationToken) is { } first
            ? first.Spec
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be the build spec"));
        var manifest = (await ContextReceiver.NextAsync(requestStream, BuildRequest.MessageOneofCase.Manifest, cancellationToken))?.Manifest
                       ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "the context manifest must follow the spec"));

        // --ssh: agent sockets on this host whose connections travel to the client on this call (never recorded)
        var writer = new SerializedStreamWriter<BuildResponse>(responseStream);
        await using var ssh = spec.Ssh.Count > 0
            ? new SshStreamForwarder(spec.Ssh.Select(s => s.Id.Length > 0 ? s.Id : "default"), scratch,
                (frame, ct) => writer.WriteAsync(new BuildResponse { Ssh = frame }, ct))
            : null;
        if (ssh is not null) ticket = ticket with { SshSockets = ssh.Sockets };
        responseStream = writer;
        var log = new BuildLog(Logger, ticket.BuildId, ticket.Team);
        BuildRecord record;
        try
        {
            record = Builds.Register(ticket, [.. spec.Tags], QueueLimits.LimitOf(ticket.Team));
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            log.Refused(e.Status.Detail);
            throw;
        }
        log.Accepted([.. spec.Tags], manifest.Entries.Count);
        // Proved blobs may be old and unreferenced: a prune must not take them from under this build.
        record.Leases.Blobs(ContextReceiver.AllEntries(manifest).Select(e => e.Sha256));
        var inPlace = manifest.LocalRoot.Length > 0;
        var scratchContext = Path.Combine(scratch, "ctx-" + Guid.NewGuid().ToString("N")[..12]);
        var contextDir = inPlace ? manifest.LocalRoot : scratchContext;
        // --build-context folders and layouts: each written beside the context, named by position (never by the client)
        var namedFolders = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (inPlace)
            {
                // The client's own folder, read as an embedded build reads it: never copied, never deleted here.
                if (!readsLocal)
                    throw new RpcException(new Status(StatusCode.InvalidArgument,
                        "this server does not read client folders in place (only a resident engine, for its own user): send the context's files"));
                contextDir = LocalContextRoot.Check(manifest);
                ticket = ticket with { ContextInPlace = true };
                log.ContextInPlace(contextDir);
            }
            // Uploaded files: the main context's (unless read in place) and those of named folders and layouts.
            if (!inPlace || manifest.NamedContexts.Count > 0)
            {
                var receiver = new ContextReceiver(store, scratch, CallersOwnTheStore);
                var servable = await receiver.ReceiveAsync(manifest, requestStream, responseStream, cancellationToken);
                if (!inPlace) await new UploadedContextWriter(store).MaterializeAsync(manifest.Entries, contextDir, servable, cancellationToken);
                foreach (var named in manifest.NamedContexts)
                {
                    if (!spec.NamedContexts.TryGetValue(named.Name, out var value) || !NamedContextSource.Parse(value).HasFiles)
                        throw new RpcException(new Status(StatusCode.InvalidArgument,
                            $"named context {named.Name}: files sent for a --build-context that is no folder or OCI layout of this build"));
                    if (namedFolders.ContainsKey(named.Name))
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"named context {named.Name}: its files were sent twice"));
                    var folder = $"{scratchContext}-named-{namedFolders.Count}";
                    namedFolders[named.Name] = folder;
                    await new UploadedContextWriter(store).MaterializeAsync(named.Entries, folder, servable, cancellationToken);
                }
                log.ContextReceived(ContextReceiver.AllEntries(manifest).Count(), manifest.NamedContexts.Sum(n => n.Entries.Count), receiver.Uploaded);
            }
        }
        catch (Exception e)
        {
            DeleteContextFolders(inPlace ? null : contextDir, namedFolders.Values);
            var (code, message) = e switch
            {
                ContextEntryException c => (c.Denied ? StatusCode.PermissionDenied : StatusCode.InvalidArgument, c.Message),
                RpcException r => (r.StatusCode, r.Status.Detail),
                OperationCanceledException => (StatusCode.Cancelled, "the client went away while sending its context"),
                _ => (StatusCode.Internal, "receiving the context: " + e.Message),
            };
            var refused = new BuildResponse
            {
                Error = new BuildError { Message = message, ErrorClass = code == StatusCode.Cancelled ? "canceled" : "user_error" },
            };
            record.Finish(refused, DateTimeOffset.UtcNow);
            log.Ended(refused);
            if (e is RpcException or OperationCanceledException) throw;
            throw new RpcException(new Status(code, message));
        }

        record.Running();
        ticket = ticket with { NamedContextFolders = namedFolders };
        // The build runs on its own: this call only streams its events, so a client that drops can re-attach with Watch.
        _ = RunRecordedAsync(record, ticket, spec, contextDir, inPlace ? manifest.LocalDockerfile : null, log);
        using var subscription = record.Subscribe(fromStart: true);
        var watch = WatchForCancelAsync(requestStream, record, ssh?.Relay, cancellationToken);
        await StreamEventsAsync(record, subscription, responseStream, cancellationToken);
        await watch;
    }

    /// <param name="localDockerfile">For a context read in place: the Dockerfile's path on this host (empty: the
    /// context's own Dockerfile); null for an uploaded context (a scratch folder of this build, deleted at its end).</param>
    private async Task RunRecordedAsync(BuildRecord record, BuildTicket ticket, BuildSpec spec, string contextDir, string? localDockerfile, BuildLog log)
    {
        var exportIds = new Dictionary<int, string>();
        var kept = false;
        try
        {
            // The client's Dockerfile path means nothing on this host: its ignore file is looked up beside the
            // context's Dockerfile, and messages keep only the file name.
            var served = spec.Clone();
            served.DockerfilePath = localDockerfile is { Length: > 0 }
                ? localDockerfile
                : Path.Combine(contextDir, Path.GetFileName(spec.DockerfilePath is { Length: > 0 } p ? p : "Dockerfile"));
            // The credentials leave the spec here: only this build's push sees them, through the provider.
            var logins = new ClientRegistryLogins(served.RegistryLogins);
            served.RegistryLogins.Clear();
            // A resident engine's caller: its own docker config and proxies, not those of the client that started the engine.
            ClientRegistryAccess? access = null;
            exportIds = RedirectFileOutputs(served);
            BuildOutcome outcome;
            try
            {
                // (a client's proxy that is no URL, or a docker config that is no JSON, is this build's error, named)
                access = CallersOwnTheStore ? ClientRegistryAccess.From(served.ClientEnvironment, logins) : null;
                served.ClientEnvironment.Clear();
                outcome = await runner.RunAsync(served, contextDir, [.. spec.NoCacheFilter], e => OnProgress(record, log, e),
                    access is null ? ticket : ticket with { PullRegistry = access.Open }, access?.Credentials ?? logins, record.Canceled);
            }
            catch (FormatException e)
            {
                outcome = new BuildOutcome { Error = e.Message, ErrorClass = Protos.Cluster.ErrorClass.UserError };
            }
            catch (Exception e) when (e is Oci.Registry.RegistryException or HttpRequestException or InvalidOperationException or IOException)
            {
                // An output the farm could not write (a push refused, no tag to push to) is the build's error, told to its client.
                outcome = new BuildOutcome { Error = e.Message, ErrorClass = e is InvalidOperationException ? Protos.Cluster.ErrorClass.UserError : ErrorClasses.Of(e) };
            }
            finally
            {
                access?.Dispose();
            }
            // Kept for the client to read (ReadExport) until it releases them or they expire.
            IReadOnlyList<ExportFile> exports = outcome.Success && !outcome.CheckOnly && outcome.CallJson is null ? await KeepExportsAsync(exportIds, ticket.Team, record.Canceled) : [];
            kept = outcome.Success && !outcome.CheckOnly && outcome.CallJson is null; // a check or call reserved outputs it never wrote
            // Before Finish: a client that lists images once its build ended finds it.
            if (outcome is { Success: true, ManifestDigest: { Length: > 0 } built }) ImageTeams.Claim(built, ticket.Team);
            record.Finish(outcome.Success
                ? new BuildResponse
                {
                    Result = new BuildResult
                    {
                        ManifestDigest = outcome.ManifestDigest ?? "",
                        ConfigDigest = outcome.ConfigDigest ?? "",
                        ManifestMediaType = outcome.ManifestMediaType,
                        ManifestSize = outcome.ManifestSize,
                        ImageNames = { outcome.ImageNames },
                        StepsExecuted = outcome.StepsExecuted,
                        StepsCached = outcome.StepsCached,
                        Exports = { exports },
                        LintWarnings = { outcome.LintWarnings.Select(LintWarningMessages.ToMessage) },
                        CheckOnly = outcome.CheckOnly,
                        CallJson = outcome.CallJson ?? "",
                        CallText = outcome.CallText,
                    },
                }
                : new BuildResponse
                {
                    Error = new BuildError
                    {
                        Message = outcome.Canceled ? (record.CancelReason is { } why ? "canceled: " + why : "canceled") : outcome.Error,
                        Location = outcome.ErrorLocation,
                        Instruction = outcome.ErrorInstruction,
                        LogTail = { outcome.LogTail },
                        ExitCode = outcome.ExitCode,
                        ErrorClass = outcome.Canceled ? "canceled" : ErrorClassNames.Of(outcome.ErrorClass),
                        LintWarnings = { outcome.LintWarnings.Select(LintWarningMessages.ToMessage) },
                    },
                }, DateTimeOffset.UtcNow);
        }
        catch (Exception e)
        {
            // Nobody awaits this task: whatever happens must end the record, or its watchers would wait forever.
            record.Finish(new BuildResponse
            {
                Error = new BuildError
                {
                    Message = e is OperationCanceledException ? "canceled" : "internal error: " + e.Message,
                    ErrorClass = e is OperationCanceledException ? "canceled" : "internal",
                },
            }, DateTimeOffset.UtcNow);
        }
        finally
        {
            if (record.Final is { } final) log.Ended(final);
            if (!kept) DropExports(exportIds);
            DeleteContextFolders(localDockerfile is null ? contextDir : null, ticket.NamedContextFolders.Values);
        }
    }

    /// <summary>Deletes the folders this server wrote for a build (never a client's folder read in place: null).</summary>
    private static void DeleteContextFolders(string? contextDir, IEnumerable<string> namedContextFolders)
    {
        foreach (var folder in contextDir is null ? namedContextFolders : namedContextFolders.Prepend(contextDir))
        {
            try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
            catch (IOException) { } // a scratch folder left behind is swept with the scratch dir, never worth failing a build
        }
    }

    /// <summary>Where the lifecycle of each served build is logged (<see cref="BuildLog"/>).</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Which teams built each image: ListImages, RemoveImages and ReadExport show a team its own.</summary>
    public ImageTeams ImageTeams { get; init; } = new(null);

    /// <summary>Builds in flight per team (<c>--team-queue-limit</c>); over it a Build is RESOURCE_EXHAUSTED.</summary>
    public TeamQuotas QueueLimits { get; init; } = TeamQuotas.Unlimited;

    /// <summary>A step event of a running build: kept for its watchers, logged, and its key leased from a prune. The
    /// context's publication is the served path's own detail (an embedded build reads its folder in place): it is
    /// logged, not shown, so plain progress through a server prints what an embedded build prints.</summary>
    private static void OnProgress(BuildRecord record, BuildLog log, ProgressEvent e)
    {
        log.Progress(e);
        if (e.Kind is ProgressEvent.Types.Kind.Cached or ProgressEvent.Types.Kind.Completed && e.StepId.Length > 0)
            record.Leases.Step(e.StepId);
        if (e.Kind == ProgressEvent.Types.Kind.Info && e.StepId == BuildRunner.ContextStepId) return;
        record.Append(new BuildResponse { Progress = e });
    }

    public override async Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context)
    {
        var response = new ListImagesResponse();
        var caller = TokenInterceptor.CallerOf(context);
        foreach (var image in await images.ListAsync(context.CancellationToken))
        {
            if (!ImageTeams.Sees(caller, image.RootDigest)) continue;
            response.Images.Add(new ImageRecord
            {
                Name = image.Name,
                ManifestDigest = image.ManifestDigest,
                ConfigDigest = image.ConfigDigest,
                Size = image.Size,
                CreatedUnixMs = image.Created.ToUnixTimeMilliseconds(),
                IndexDigest = image.IndexDigest ?? "",
            });
        }
        return response;
    }

    public override async Task<ListWorkersResponse> ListWorkers(ListWorkersRequest request, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        // A coordinator still joining has no pool to ask: say so rather than wait on the caller's deadline.
        if (!engine.IsCompletedSuccessfully)
            throw new RpcException(new Status(StatusCode.Unavailable, "the engine of this coordinator is not up yet"));
        IReadOnlyList<WorkerInfo> workers;
        try
        {
            workers = await engine.Result.ListWorkersAsync(cancellationToken);
        }
        catch (Exception e) when (e is Akka.Actor.AskTimeoutException or InvalidOperationException or Akka.Actor.ActorNotFoundException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the worker pool did not answer: {e.Message}"));
        }
        var response = new ListWorkersResponse();
        foreach (var w in workers.OrderBy(w => w.Id, StringComparer.Ordinal))
        {
            response.Workers.Add(new WorkerStatus
            {
                Id = w.Id, Pid = w.Pid, Address = w.Address, Slots = w.Slots, Running = w.Running,
                StepsExecuted = w.StepsExecuted, LocalCacheBytes = w.LocalCacheBytes,
                Platforms = { w.Platforms }, EmulatedPlatforms = { w.EmulatedPlatforms },
            });
        }
        return response;
    }

    /// <summary>After the upload the client may still send Cancel; closing its side or dropping the call does not cancel
    /// (it may re-attach with Watch: see <see cref="BuildRecord"/>'s orphan grace).</summary>
    private static async Task WatchForCancelAsync(IAsyncStreamReader<BuildRequest> requests, BuildRecord record, SshFrameRelay? ssh,
        CancellationToken cancellationToken)
    {
        try
        {
            while (await requests.MoveNext(cancellationToken))
            {
                if (requests.Current.MessageCase == BuildRequest.MessageOneofCase.Ssh && ssh is not null)
                {
                    await ssh.DeliverAsync(requests.Current.Ssh, cancellationToken);
                    continue;
                }
                if (requests.Current.MessageCase != BuildRequest.MessageOneofCase.Cancel) continue;
                record.Cancel(requests.Current.Cancel.Reason is { Length: > 0 } reason ? reason : "the client sent Cancel");
                return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or IOException or InvalidOperationException)
        {
            // the call ended: the build goes on for a while, for a client that re-attaches
        }
    }
}
