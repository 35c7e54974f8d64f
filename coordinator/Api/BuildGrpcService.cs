using BuildFarm.Protos;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Protos.V1;
using Grpc.Core;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Engine;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The public Build API: the client sends the spec and a manifest of its context (path, mode, size, sha256); the
/// server asks only for the blobs its content store lacks (and a proof of possession for those it has), rebuilds the
/// context from the store (<see cref="UploadedContextWriter"/>), runs the build
/// and streams progress back. Closing the stream or sending Cancel cancels the build.
/// <c>ListWorkers</c> answers from the engine's worker pool.
/// </summary>
public sealed partial class BuildGrpcService(Task<EngineNode> engine, BuildRunner runner, IContentStore store, LocalImageStore images, string scratch)
    : BuildService.BuildServiceBase
{
    public override async Task Build(IAsyncStreamReader<BuildRequest> requestStream, IServerStreamWriter<BuildResponse> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var spec = await ContextReceiver.NextAsync(requestStream, BuildRequest.MessageOneofCase.Spec, cancellationToken) is { } first
            ? first.Spec
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be the build spec"));
        var manifest = (await ContextReceiver.NextAsync(requestStream, BuildRequest.MessageOneofCase.Manifest, cancellationToken))?.Manifest
                       ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "the context manifest must follow the spec"));

        var servable = await new ContextReceiver(store, scratch).ReceiveAsync(manifest, requestStream, responseStream, cancellationToken);

        var contextDir = Path.Combine(scratch, "ctx-" + Guid.NewGuid().ToString("N")[..12]);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // After the upload, the only thing the client may still say is Cancel (or hang up).
        var watch = WatchForCancelAsync(requestStream, cancel);
        var exportIds = new Dictionary<int, string>();
        var delivered = false;
        try
        {
            try
            {
                await new UploadedContextWriter(store).MaterializeAsync(manifest.Entries, contextDir, servable, cancellationToken);
            }
            catch (ContextEntryException e)
            {
                throw new RpcException(new Status(e.Denied ? StatusCode.PermissionDenied : StatusCode.InvalidArgument, e.Message));
            }
            var writer = new ProgressWriter(responseStream);
            // The client's Dockerfile path means nothing on this host: its ignore file is looked up beside the
            // context's Dockerfile, and messages keep only the file name.
            var served = spec.Clone();
            served.DockerfilePath = Path.Combine(contextDir, Path.GetFileName(spec.DockerfilePath is { Length: > 0 } p ? p : "Dockerfile"));
            // The credentials leave the spec here: only this build's push sees them, through the provider.
            var logins = new ClientRegistryLogins(served.RegistryLogins);
            served.RegistryLogins.Clear();
            exportIds = RedirectFileOutputs(served);
            BuildOutcome outcome;
            try
            {
                outcome = await runner.RunAsync(served, contextDir, [], writer.Write, logins, cancel.Token);
            }
            catch (Exception e) when (e is Oci.Registry.RegistryException or HttpRequestException or InvalidOperationException or IOException)
            {
                // An output the farm could not write (a push refused, no tag to push to) is the build's error, told to its client.
                outcome = new BuildOutcome { Error = e.Message, ErrorClass = e is InvalidOperationException ? Protos.Cluster.ErrorClass.UserError : ErrorClasses.Of(e) };
            }
            await writer.FlushAsync();
            IReadOnlyList<ExportFile> exports = outcome.Success ? await KeepExportsAsync(exportIds, cancel.Token) : [];
            var response = outcome.Success
                ? new BuildResponse
                {
                    Result = new BuildResult
                    {
                        ManifestDigest = outcome.ManifestDigest,
                        ConfigDigest = outcome.ConfigDigest,
                        ImageNames = { outcome.ImageNames },
                        StepsExecuted = outcome.StepsExecuted,
                        StepsCached = outcome.StepsCached,
                        Exports = { exports },
                    },
                }
                : new BuildResponse
                {
                    Error = new BuildError
                    {
                        Message = outcome.Canceled ? "canceled" : outcome.Error,
                        Location = outcome.ErrorLocation,
                        Instruction = outcome.ErrorInstruction,
                        LogTail = { outcome.LogTail },
                        ExitCode = outcome.ExitCode,
                        ErrorClass = ErrorClassNames.Of(outcome.ErrorClass),
                    },
                };
            await responseStream.WriteAsync(response, CancellationToken.None);
            delivered = outcome.Success;
        }
        finally
        {
            if (!delivered) DropExports(exportIds);
            await cancel.CancelAsync();
            await watch;
            if (Directory.Exists(contextDir)) Directory.Delete(contextDir, recursive: true);
        }
    }

    public override async Task<ListImagesResponse> ListImages(ListImagesRequest request, ServerCallContext context)
    {
        var response = new ListImagesResponse();
        foreach (var image in await images.ListAsync(context.CancellationToken))
        {
            response.Images.Add(new ImageRecord
            {
                Name = image.Name,
                ManifestDigest = image.ManifestDigest,
                ConfigDigest = image.ConfigDigest,
                Size = image.Size,
                CreatedUnixMs = image.Created.ToUnixTimeMilliseconds(),
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
            });
        }
        return response;
    }

    private static async Task WatchForCancelAsync(IAsyncStreamReader<BuildRequest> requests, CancellationTokenSource cancel)
    {
        try
        {
            while (await requests.MoveNext(cancel.Token))
                if (requests.Current.MessageCase == BuildRequest.MessageOneofCase.Cancel) break;
            // Cancel, or the client closed its side: either way nobody wants the result any more.
            await cancel.CancelAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException or IOException or InvalidOperationException)
        {
            await cancel.CancelAsync();
        }
    }

    /// <summary>Serializes progress writes: gRPC allows one pending write per stream, events come from actor threads.</summary>
    private sealed class ProgressWriter
    {
        private readonly System.Threading.Channels.Channel<ProgressEvent> _events = System.Threading.Channels.Channel.CreateUnbounded<ProgressEvent>();
        private readonly IServerStreamWriter<BuildResponse> _stream;
        private readonly Task _pump;

        public ProgressWriter(IServerStreamWriter<BuildResponse> stream)
        {
            _stream = stream;
            _pump = PumpAsync();
        }

        public void Write(ProgressEvent e) => _events.Writer.TryWrite(e);

        public async Task FlushAsync()
        {
            _events.Writer.TryComplete();
            await _pump;
        }

        private async Task PumpAsync()
        {
            await foreach (var e in _events.Reader.ReadAllAsync())
            {
                try { await _stream.WriteAsync(new BuildResponse { Progress = e }); }
                catch (InvalidOperationException) { return; } // the call ended
            }
        }
    }
}
