using BuildFarm.Protos;
using BuildFarm.Cli.Commands;
using BuildFarm.Cli.Progress;
using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using BuildFarm.Cli.Remote;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Cli;

/// <summary>
/// <c>buildfarm build --server ADDR</c>: sends the spec and the context manifest to a farm, uploads only the files
/// it asks for, proves it holds the ones the farm already has, and prints the progress it streams back.
/// </summary>
public static class RemoteBuild
{
    private const int ChunkSize = 1 << 20;

    public static async Task<int> RunAsync(BuildInvocation invocation, string server, CancellationToken cancellationToken)
    {
        var printer = new ProgressPrinter(Console.Error, invocation.Progress, invocation.Environment.IsCi);
        BuildOutcome outcome;
        RemoteEndpoint endpoint;
        try
        {
            endpoint = new RemoteEndpoint(server, invocation.Remote);
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
            return 1;
        }
        using var _ = endpoint;
        var started = new BuildStarted();
        try
        {
            outcome = await BuildAsync(invocation, endpoint, started, printer, cancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            // Dropping the call alone leaves the build running for a client that re-attaches: say Cancel.
            if (started.Id is { } id) await CancelQuietlyAsync(endpoint, id);
            outcome = new BuildOutcome { Canceled = true, Error = "canceled" };
        }
        catch (RpcException e)
        {
            var hint = started.Id is { } id && e.StatusCode is StatusCode.Unavailable or StatusCode.Internal
                ? $"; the build may still run: buildfarm watch {id} --server {server}"
                : "";
            outcome = new BuildOutcome { Error = endpoint.Describe(e) + hint };
        }
        printer.Finish();
        return await EmbeddedBuild.ReportAsync(invocation, outcome, printer, cancellationToken.IsCancellationRequested);
    }

    /// <summary>The build's id once the farm told it (its first message).</summary>
    private sealed class BuildStarted
    {
        public string? Id { get; set; }
    }

    private static async Task CancelQuietlyAsync(RemoteEndpoint endpoint, string id)
    {
        try
        {
            await endpoint.Client.CancelAsync(new CancelRequest { BuildId = id, Reason = "the client was interrupted" },
                deadline: DateTime.UtcNow.AddSeconds(5));
        }
        catch (RpcException)
        {
            // the farm will cancel it anyway once nobody watches it
        }
    }

    private static async Task<BuildOutcome> BuildAsync(BuildInvocation invocation, RemoteEndpoint endpoint, BuildStarted started,
        ProgressPrinter printer, CancellationToken cancellationToken)
    {
        var server = endpoint.Server;
        using var call = endpoint.Client.Build(cancellationToken: cancellationToken);
        // Nothing is sent before the farm accepts the call (token checked) and names the build.
        if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.MessageCase != BuildResponse.MessageOneofCase.Accepted)
            return new BuildOutcome { Error = $"{server} did not accept the build (an older server, or not a buildfarm API)" };
        started.Id = call.ResponseStream.Current.Accepted.BuildId;
        await call.RequestStream.WriteAsync(new BuildRequest { Spec = invocation.Spec }, cancellationToken);

        var matcher = await IgnoreFileLocator.LoadAsync(invocation.ContextDir, invocation.DockerfilePath, cancellationToken);
        var entries = ContextWalker.Walk(invocation.ContextDir, matcher, cancellationToken);
        var manifest = new ContextManifest { AnswersChallenges = true };
        var pathOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            manifest.Entries.Add(new Protos.V1.ContextEntry
            {
                Path = entry.Path,
                Mode = (uint)entry.Mode,
                Size = entry.Size,
                Sha256 = entry.Sha256 ?? "",
                LinkTarget = entry.LinkTarget ?? "",
            });
            if (entry.Sha256 is { } digest) pathOf.TryAdd(digest, Path.Combine(invocation.ContextDir, entry.Path));
        }
        await call.RequestStream.WriteAsync(new BuildRequest { Manifest = manifest }, cancellationToken);

        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            switch (response.MessageCase)
            {
                case BuildResponse.MessageOneofCase.Missing:
                    foreach (var digest in response.Missing.Digests)
                        await SendFileAsync(call.RequestStream, digest, pathOf[digest], cancellationToken);
                    if (response.Missing.Prove.Count > 0)
                        await SendProofsAsync(call.RequestStream, response.Missing, pathOf, cancellationToken);
                    break;
                case BuildResponse.MessageOneofCase.Progress:
                    printer.OnEvent(response.Progress);
                    break;
                case BuildResponse.MessageOneofCase.Result:
                    await call.RequestStream.CompleteAsync();
                    return new BuildOutcome
                    {
                        Success = true,
                        ManifestDigest = response.Result.ManifestDigest,
                        ConfigDigest = response.Result.ConfigDigest,
                        ImageNames = [.. response.Result.ImageNames],
                        StepsExecuted = response.Result.StepsExecuted,
                        StepsCached = response.Result.StepsCached,
                    };
                case BuildResponse.MessageOneofCase.Error:
                    await call.RequestStream.CompleteAsync();
                    return new BuildOutcome
                    {
                        Canceled = ErrorClassNames.Parse(response.Error.ErrorClass) == Protos.Cluster.ErrorClass.Canceled
                                   || response.Error.Message == "canceled",
                        ErrorClass = ErrorClassNames.Parse(response.Error.ErrorClass),
                        Error = response.Error.Message,
                        ErrorLocation = response.Error.Location,
                        ErrorInstruction = response.Error.Instruction,
                        LogTail = [.. response.Error.LogTail],
                        ExitCode = response.Error.ExitCode,
                    };
            }
        }
        return new BuildOutcome { Error = $"{server} ended the build without a result" };
    }

    /// <summary>Answers the server's challenge for blobs it already has: HMAC-SHA256(nonce, content) per digest.</summary>
    private static async Task SendProofsAsync(IClientStreamWriter<BuildRequest> requests, MissingFiles challenge,
        Dictionary<string, string> pathOf, CancellationToken cancellationToken)
    {
        var nonce = challenge.ChallengeNonce.ToByteArray();
        var proofs = new PossessionProofs();
        foreach (var digest in challenge.Prove)
        {
            if (!pathOf.TryGetValue(digest, out var path)) continue; // not ours to prove; the server will say so
            await using var file = File.OpenRead(path);
            proofs.Proofs.Add(new Protos.V1.PossessionProof
            {
                Digest = digest,
                HmacSha256 = ByteString.CopyFrom(await Coordinator.Api.PossessionProof.ComputeAsync(file, nonce, cancellationToken)),
            });
        }
        await requests.WriteAsync(new BuildRequest { Proofs = proofs }, cancellationToken);
    }

    private static async Task SendFileAsync(IClientStreamWriter<BuildRequest> requests, string digest, string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        var buffer = new byte[ChunkSize];
        while (true)
        {
            var read = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            var last = read < buffer.Length;
            await requests.WriteAsync(new BuildRequest
            {
                File = new FileChunk { Digest = digest, Data = ByteString.CopyFrom(buffer, 0, read), Last = last },
            }, cancellationToken);
            if (last) return;
        }
    }
}
