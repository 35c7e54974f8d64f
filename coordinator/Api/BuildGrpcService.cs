using BuildFarm.Protos;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The public Build API: the client sends the spec and a manifest of its context (path, mode, size, sha256); the
/// server asks only for the blobs its content store lacks, rebuilds the context from the store, runs the build
/// and streams progress back. Closing the stream or sending Cancel cancels the build.
/// </summary>
public sealed class BuildGrpcService(BuildRunner runner, IContentStore store, LocalImageStore images, string scratch)
    : BuildService.BuildServiceBase
{
    public override async Task Build(IAsyncStreamReader<BuildRequest> requestStream, IServerStreamWriter<BuildResponse> responseStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        var spec = await NextAsync(requestStream, BuildRequest.MessageOneofCase.Spec, cancellationToken) is { } first
            ? first.Spec
            : throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be the build spec"));
        if (spec.Outputs.Any(o => o.Type is "oci" or "docker" or "local" or "tar"))
            throw new RpcException(new Status(StatusCode.Unimplemented, "file outputs (oci, docker, local) are written by embedded builds only; push or keep the image on the server"));
        var manifest = (await NextAsync(requestStream, BuildRequest.MessageOneofCase.Manifest, cancellationToken))?.Manifest
                       ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "the context manifest must follow the spec"));

        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in manifest.Entries.Where(e => e.Sha256.Length > 0))
        {
            if (!Digest.TryParse(entry.Sha256, out var digest))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{entry.Path}: invalid digest {entry.Sha256}"));
            if (!await store.ExistsAsync(digest, cancellationToken)) missing.Add(entry.Sha256);
        }
        await responseStream.WriteAsync(new BuildResponse { Missing = new MissingFiles { Digests = { missing.Order(StringComparer.Ordinal) } } }, cancellationToken);
        await ReceiveFilesAsync(requestStream, missing, cancellationToken);

        var contextDir = Path.Combine(scratch, "ctx-" + Guid.NewGuid().ToString("N")[..12]);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // After the upload, the only thing the client may still say is Cancel (or hang up).
        var watch = WatchForCancelAsync(requestStream, cancel);
        try
        {
            await MaterializeAsync(manifest, contextDir, cancellationToken);
            var writer = new ProgressWriter(responseStream);
            var outcome = await runner.RunAsync(spec, contextDir, [], writer.Write, cancel.Token);
            await writer.FlushAsync();
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
        }
        finally
        {
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

    private static async Task<BuildRequest?> NextAsync(IAsyncStreamReader<BuildRequest> requests, BuildRequest.MessageOneofCase expected, CancellationToken cancellationToken)
    {
        if (!await requests.MoveNext(cancellationToken)) return null;
        return requests.Current.MessageCase == expected
            ? requests.Current
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"expected {expected}, got {requests.Current.MessageCase}"));
    }

    private async Task ReceiveFilesAsync(IAsyncStreamReader<BuildRequest> requests, HashSet<string> missing, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratch);
        FileStream? current = null;
        string? currentDigest = null;
        var spool = Path.Combine(scratch, "upload-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            while (missing.Count > 0)
            {
                var chunk = (await NextAsync(requests, BuildRequest.MessageOneofCase.File, cancellationToken))?.File
                            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, $"the client hung up with {missing.Count} files not sent"));
                if (currentDigest != chunk.Digest)
                {
                    if (current is not null) throw new RpcException(new Status(StatusCode.InvalidArgument, $"file {currentDigest} ended without last=true"));
                    if (!missing.Contains(chunk.Digest)) throw new RpcException(new Status(StatusCode.InvalidArgument, $"file {chunk.Digest} was not asked for"));
                    current = File.Create(spool);
                    currentDigest = chunk.Digest;
                }
                await current!.WriteAsync(chunk.Data.Memory, cancellationToken);
                if (!chunk.Last) continue;
                current.Position = 0;
                // PutAsync verifies the content against the digest the client claimed.
                await store.PutAsync(current, Digest.Parse(chunk.Digest), cancellationToken);
                await current.DisposeAsync();
                current = null;
                missing.Remove(chunk.Digest);
                currentDigest = null;
            }
        }
        finally
        {
            if (current is not null) await current.DisposeAsync();
            File.Delete(spool);
        }
    }

    private async Task MaterializeAsync(ContextManifest manifest, string root, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(root);
        foreach (var entry in manifest.Entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            var relative = entry.Path.Replace('\\', '/').TrimStart('/');
            if (relative.Split('/').Any(part => part is ".." or ""))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"context path {entry.Path} leaves the context"));
            var target = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var type = entry.Mode & 0xF000;
            if (type == 0x4000)
                Directory.CreateDirectory(target);
            else if (type == 0xA000)
                File.CreateSymbolicLink(target, entry.LinkTarget);
            else
            {
                await using (var blob = await store.OpenAsync(Digest.Parse(entry.Sha256), cancellationToken))
                await using (var file = File.Create(target))
                    await blob.CopyToAsync(file, cancellationToken);
            }
            if (type != 0xA000 && !OperatingSystem.IsWindows())
                File.SetUnixFileMode(target, (UnixFileMode)(entry.Mode & 0xFFF));
        }
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
