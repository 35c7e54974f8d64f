using System.Security.Cryptography;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The public Build API: the client sends the spec and a manifest of its context (path, mode, size, sha256); the
/// server asks only for the blobs its content store lacks (and a proof of possession for those it has), rebuilds the
/// context from the store (<see cref="ContextMaterializer"/>), runs the build
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

        var servable = await ReceiveContextAsync(manifest, requestStream, responseStream, cancellationToken);

        var contextDir = Path.Combine(scratch, "ctx-" + Guid.NewGuid().ToString("N")[..12]);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // After the upload, the only thing the client may still say is Cancel (or hang up).
        var watch = WatchForCancelAsync(requestStream, cancel);
        try
        {
            try
            {
                await new ContextMaterializer(store).MaterializeAsync(manifest.Entries, contextDir, servable, cancellationToken);
            }
            catch (ContextEntryException e)
            {
                throw new RpcException(new Status(e.Denied ? StatusCode.PermissionDenied : StatusCode.InvalidArgument, e.Message));
            }
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

    /// <summary>
    /// Asks for the blobs the store lacks and challenges the client for the ones it has: a build may read a blob only
    /// when its own manifest names it and it either uploaded it in this call or proved it holds the bytes. Returns
    /// those digests.
    /// </summary>
    private async Task<HashSet<string>> ReceiveContextAsync(ContextManifest manifest, IAsyncStreamReader<BuildRequest> requests,
        IServerStreamWriter<BuildResponse> responses, CancellationToken cancellationToken)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        var present = new Dictionary<string, string>(StringComparer.Ordinal); // digest -> first path naming it
        foreach (var entry in manifest.Entries.Where(e => e.Sha256.Length > 0))
        {
            if (!Digest.TryParse(entry.Sha256, out var digest))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{entry.Path}: invalid digest {entry.Sha256}"));
            if (missing.Contains(entry.Sha256) || present.ContainsKey(entry.Sha256)) continue;
            // A client that cannot answer a challenge (older than the challenge) proves possession by uploading.
            if (manifest.AnswersChallenges && await store.ExistsAsync(digest, cancellationToken)) present[entry.Sha256] = entry.Path;
            else missing.Add(entry.Sha256);
        }
        var nonce = present.Count > 0 ? RandomNumberGenerator.GetBytes(PossessionProof.NonceSize) : [];
        await responses.WriteAsync(new BuildResponse
        {
            Missing = new MissingFiles
            {
                Digests = { missing.Order(StringComparer.Ordinal) },
                ChallengeNonce = ByteString.CopyFrom(nonce),
                Prove = { present.Keys.Order(StringComparer.Ordinal) },
            },
        }, cancellationToken);
        var servable = new HashSet<string>(missing, StringComparer.Ordinal);
        await ReceiveFilesAsync(requests, missing, cancellationToken);
        if (present.Count == 0) return servable;

        if (!await requests.MoveNext(cancellationToken) || requests.Current.MessageCase != BuildRequest.MessageOneofCase.Proofs)
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"context file {present.First().Value}: the server has its content; prove you hold it (this client sent no possession proofs)"));
        var claimed = new Dictionary<string, ByteString>(StringComparer.Ordinal);
        foreach (var proof in requests.Current.Proofs.Proofs) claimed.TryAdd(proof.Digest, proof.HmacSha256);
        foreach (var (digest, path) in present.OrderBy(p => p.Value, StringComparer.Ordinal))
            if (!claimed.ContainsKey(digest))
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"context file {path}: no proof of possession for {digest}"));
        // Each check reads the blob from the store (a GET on S3): a few at a time, not one after another.
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(present, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (pair, token) =>
            {
                await using var blob = await store.OpenAsync(Digest.Parse(pair.Key), token);
                if (!PossessionProof.Matches(await PossessionProof.ComputeAsync(blob, nonce, token), claimed[pair.Key].Span))
                    wrong.Add(pair.Value);
            });
        if (wrong.Order(StringComparer.Ordinal).FirstOrDefault() is { } failed)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"context file {failed}: wrong proof of possession"));
        servable.UnionWith(present.Keys);
        return servable;
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
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
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
                sha.AppendData(chunk.Data.Span);
                if (!chunk.Last) continue;
                // Checked here, not only by PutAsync: a put of a blob that appeared meanwhile (another build's upload)
                // reads nothing, and an upload is this build's proof that it holds the content.
                var actual = Digest.FromSha256Bytes(sha.GetHashAndReset());
                if (actual.ToString() != chunk.Digest)
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"file {chunk.Digest}: the bytes sent hash to {actual}"));
                current.Position = 0;
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
