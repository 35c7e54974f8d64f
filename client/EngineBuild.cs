using BuildFarm.Cli;
using BuildFarm.Cli.Progress;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Coordinator.Dockerfile.Lint;
using BuildFarm.Protos;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace BuildFarm.Client;

/// <summary>
/// One build through the resident engine, as <c>buildfarm build --server</c> does it (cli/RemoteBuild.cs): the spec,
/// the context manifest (hashes remembered in <c>$BUILDFARM_HOME/context-hashes</c>), only the files the engine asks
/// for, possession proofs for the ones it has, then plain or quiet progress and the result as the managed CLI prints it.
/// </summary>
public sealed class EngineBuild(BuildCommandLine line, string home, EngineConnection engine)
{
    private const int ChunkSize = 1 << 20;

    /// <summary>The spec of this build; null (with the reason) when the managed CLI should take it after all.</summary>
    public async Task<(BuildSpec? Spec, string ContextDir, string DockerfilePath, string Why)> PrepareAsync(CancellationToken cancellationToken)
    {
        var contextDir = Path.GetFullPath(line.Context);
        var dockerfilePath = line.File is { } f ? Path.GetFullPath(f) : Path.Combine(contextDir, "Dockerfile");
        // A missing context or Dockerfile: the managed CLI words that error.
        if (!Directory.Exists(contextDir) || !System.IO.File.Exists(dockerfilePath)) return (null, contextDir, dockerfilePath, "context or Dockerfile missing");
        var spec = new BuildSpec
        {
            DockerfilePath = Path.GetRelativePath(Directory.GetCurrentDirectory(), dockerfilePath),
            Dockerfile = ByteString.CopyFrom(await System.IO.File.ReadAllBytesAsync(dockerfilePath, cancellationToken)),
            Target = line.Target ?? "",
            NoCache = line.NoCache,
            Pull = line.Pull,
            Push = line.Push,
            Platform = line.Platform ?? "",
            SourceDateEpoch = Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH") ?? "",
        };
        spec.Tags.AddRange(line.Tags);
        spec.NoCacheFilter.AddRange(line.NoCacheFilter);
        foreach (var value in line.BuildArgs)
        {
            var eq = value.IndexOf('=');
            if (eq > 0) spec.BuildArgs[value[..eq]] = value[(eq + 1)..];
            else if (Environment.GetEnvironmentVariable(value) is { } fromEnv) spec.BuildArgs[value] = fromEnv;
            // buildx drops a bare name that is not in the environment.
        }
        foreach (var value in line.Labels)
        {
            var eq = value.IndexOf('=');
            spec.Labels[value[..eq]] = value[(eq + 1)..];
        }
        foreach (var value in line.Secrets)
        {
            // A secret the managed CLI would refuse: it says why.
            if (await SecretArgument.TryReadAsync(value, cancellationToken) is not { } secret) return (null, contextDir, dockerfilePath, $"--secret {value}");
            spec.Secrets.Add(secret);
        }
        foreach (var output in line.Outputs)
        {
            var message = new OutputSpec { Type = output.Type };
            foreach (var (k, v) in output.Attrs) message.Attrs[k] = v;
            spec.Outputs.Add(message);
        }
        // The engine pulls and pushes with this client's docker config and proxies, not its starter's (the engine's README).
        spec.ClientEnvironment.Add(ClientEnvironmentVariables.Collect(Environment.GetEnvironmentVariable));
        return (spec, contextDir, dockerfilePath, "");
    }

    public async Task<int> RunAsync(BuildSpec spec, string contextDir, string dockerfilePath, bool ci, CancellationToken cancellationToken)
    {
        var printer = new ProgressPrinter(Console.Error, line.Quiet ? "quiet" : line.Progress, ci,
            color: Environment.GetEnvironmentVariable("NO_COLOR") is not { Length: > 0 });
        // --token, else BUILDFARM_TOKEN: on every call, as the managed client sends it (an engine without a tokens file ignores it)
        var token = line.Token ?? (Environment.GetEnvironmentVariable("BUILDFARM_TOKEN") is { Length: > 0 } fromEnv ? fromEnv : null);
        var invoker = engine.Channel.CreateCallInvoker();
        var client = new BuildService.BuildServiceClient(token is null ? invoker : invoker.Intercept(metadata =>
        {
            metadata.Add("authorization", "Bearer " + token);
            return metadata;
        }));
        string? buildId = null;
        BuildOutcome outcome;
        try
        {
            outcome = await BuildAsync(client, spec, contextDir, dockerfilePath, printer, id => buildId = id, cancellationToken);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
        {
            // Dropping the call alone leaves the build running for a client that re-attaches: say Cancel.
            if (buildId is { } id) await CancelQuietlyAsync(client, id);
            outcome = new BuildOutcome { Canceled = true, Error = "canceled" };
        }
        catch (RpcException e)
        {
            var hint = buildId is null ? "" : $"; the build may still run: buildfarm watch {buildId}";
            outcome = new BuildOutcome { Error = $"unix:{engine.SocketPath}: {e.Status.Detail} ({e.StatusCode}){hint}" };
        }
        catch (ExportException e)
        {
            // an output that could not be brought here (written, checked or unpacked) fails the build, naming why
            outcome = new BuildOutcome { Error = $"failed to export: {e.Message}" };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PatternSyntaxException or FormatException)
        {
            // the context could not be read (a special file, an unreadable file, a bad .dockerignore): say which
            outcome = new BuildOutcome { Error = e.Message };
        }
        if (outcome.Success && buildId is { } built) outcome = outcome with { BuildId = built };
        printer.Finish();
        return await ReportAsync(outcome, dockerfilePath, printer, cancellationToken.IsCancellationRequested);
    }

    private async Task<BuildOutcome> BuildAsync(BuildService.BuildServiceClient client, BuildSpec spec, string contextDir, string dockerfilePath,
        ProgressPrinter printer, Action<string> started, CancellationToken cancellationToken)
    {
        using var call = client.Build(cancellationToken: cancellationToken);
        // Nothing is sent before the engine accepts the call and names the build.
        if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.MessageCase != BuildResponse.MessageOneofCase.Accepted)
            return new BuildOutcome { Error = $"unix:{engine.SocketPath} did not accept the build (not a buildfarm engine?)" };
        started(call.ResponseStream.Current.Accepted.BuildId);
        var readsLocal = call.ResponseStream.Current.Accepted.ReadsLocalContext;
        await call.RequestStream.WriteAsync(new BuildRequest { Spec = spec }, cancellationToken);

        var pathOf = new Dictionary<string, string>(StringComparer.Ordinal);
        if (readsLocal)
        {
            // This user's engine reads the folder where it is, as the managed client's build does (cli/Engine/README.md):
            // nothing to walk, hash or upload here.
            await call.RequestStream.WriteAsync(new BuildRequest
            {
                Manifest = new ContextManifest
                {
                    AnswersChallenges = true,
                    LocalRoot = contextDir,
                    LocalDockerfile = dockerfilePath,
                    LocalRootIdentity = LocalContextRoot.IdentityOf(contextDir),
                },
            }, cancellationToken);
        }
        else await SendManifestAsync(call, contextDir, dockerfilePath, pathOf, cancellationToken);

        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            switch (response.MessageCase)
            {
                case BuildResponse.MessageOneofCase.Missing:
                    foreach (var digest in response.Missing.Digests)
                    {
                        if (!pathOf.TryGetValue(digest, out var path))
                            return new BuildOutcome { Error = $"the engine asked for {digest}, which is not in this build's context" };
                        await SendFileAsync(call.RequestStream, digest, path, cancellationToken);
                    }
                    if (response.Missing.Prove.Count > 0)
                        await SendProofsAsync(call.RequestStream, response.Missing, pathOf, cancellationToken);
                    break;
                case BuildResponse.MessageOneofCase.Progress:
                    printer.OnEvent(response.Progress);
                    break;
                case BuildResponse.MessageOneofCase.Result or BuildResponse.MessageOneofCase.Error:
                    await call.RequestStream.CompleteAsync();
                    return await FinishAsync(client, spec, response, printer, cancellationToken);
            }
        }
        return new BuildOutcome { Error = $"unix:{engine.SocketPath} ended the build without a result" };
    }

    /// <summary>The build's outcome; on success its file outputs are first brought here from the engine (ReadExport), as
    /// the managed client does (cli/RemoteBuild.cs FinishAsync).</summary>
    private async Task<BuildOutcome> FinishAsync(BuildService.BuildServiceClient client, BuildSpec spec, BuildResponse response,
        ProgressPrinter printer, CancellationToken cancellationToken)
    {
        if (response.MessageCase == BuildResponse.MessageOneofCase.Result)
        {
            var server = "unix:" + engine.SocketPath;
            var download = new ExportDownload(client, server);
            foreach (var export in response.Result.Exports)
            {
                if (export.OutputIndex < 0 || export.OutputIndex >= spec.Outputs.Count)
                    return new BuildOutcome { Error = $"{server} sent export {export.Id} for output {export.OutputIndex}, which this build did not ask for" };
                var output = spec.Outputs[export.OutputIndex];
                try
                {
                    await download.SaveAsync(export, output, cancellationToken);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or Oci.Layers.UnsafeLayerPathException)
                {
                    throw new ExportException(e.Message, e);
                }
                printer.Info($"exporting {output.Type} to {output.Attrs["dest"]} done ({export.Size} bytes)");
            }
        }
        return OutcomeOf(response);
    }

    private static BuildOutcome OutcomeOf(BuildResponse response) => response.MessageCase == BuildResponse.MessageOneofCase.Result
        ? new BuildOutcome
        {
            Success = true,
            ManifestDigest = response.Result.ManifestDigest,
            ConfigDigest = response.Result.ConfigDigest,
            ManifestMediaType = response.Result.ManifestMediaType,
            ManifestSize = response.Result.ManifestSize,
            ImageNames = [.. response.Result.ImageNames],
            StepsExecuted = response.Result.StepsExecuted,
            StepsCached = response.Result.StepsCached,
            LintWarnings = [.. response.Result.LintWarnings.Select(LintWarningMessages.FromMessage)],
            CheckOnly = response.Result.CheckOnly,
        }
        : new BuildOutcome
        {
            Canceled = ErrorClassNames.Parse(response.Error.ErrorClass) == Protos.Cluster.ErrorClass.Canceled || response.Error.Message == "canceled",
            ErrorClass = ErrorClassNames.Parse(response.Error.ErrorClass),
            Error = response.Error.Message,
            ErrorLocation = response.Error.Location,
            ErrorInstruction = response.Error.Instruction,
            LogTail = [.. response.Error.LogTail],
            ExitCode = response.Error.ExitCode,
            LintWarnings = [.. response.Error.LintWarnings.Select(LintWarningMessages.FromMessage)],
        };

    /// <summary>What the managed CLI prints and writes at the end of a build (cli/EmbeddedBuild.cs ReportAsync).</summary>
    private async Task<int> ReportAsync(BuildOutcome outcome, string dockerfilePath, ProgressPrinter printer, bool canceled)
    {
        if (outcome.Success && !outcome.CheckOnly && line.Load)
            printer.Info(outcome.ImageNames.Count > 0
                ? $"--load: no docker daemon (DOCKER_HOST unset, /var/run/docker.sock absent): the image is in buildfarm's image store as {string.Join(", ", outcome.ImageNames)} " +
                  $"on the server (buildfarm images --server unix:{engine.SocketPath})"
                : "--load: no docker daemon (DOCKER_HOST unset, /var/run/docker.sock absent) and no -t NAME: the image stays unnamed in buildfarm's cache");
        if (!outcome.Success)
        {
            LintReportWriter.WriteBuildSummary(Console.Error, outcome.LintWarnings);
            await Console.Error.WriteLineAsync(FailureReport.Format(outcome, dockerfilePath));
            return outcome.Canceled || canceled || outcome.ErrorClass == Protos.Cluster.ErrorClass.Canceled ? 130 : 1;
        }
        printer.Info($"writing image {outcome.ManifestDigest} done");
        foreach (var name in outcome.ImageNames) printer.Info($"naming to {name} done");
        printer.Info($"{outcome.StepsExecuted} steps executed, {outcome.StepsCached} cached");
        // as buildx: the checks' findings once the progress is done
        LintReportWriter.WriteBuildSummary(Console.Error, outcome.LintWarnings);
        if (line.IidFile is { } iid) await System.IO.File.WriteAllTextAsync(iid, outcome.ManifestDigest);
        if (line.MetadataFile is { } metadataPath) await System.IO.File.WriteAllBytesAsync(metadataPath,
            BuildMetadata.Write(outcome, BuildMetadata.BuildRef("unix:" + engine.SocketPath, outcome.BuildId)));
        if (line.Quiet) Console.WriteLine(outcome.ManifestDigest);
        return 0;
    }

    private static async Task CancelQuietlyAsync(BuildService.BuildServiceClient client, string id)
    {
        try
        {
            await client.CancelAsync(new CancelRequest { BuildId = id, Reason = "the client was interrupted" }, deadline: DateTime.UtcNow.AddSeconds(5));
        }
        catch (RpcException)
        {
            // the engine cancels it anyway once nobody watches it
        }
    }

    /// <summary>Answers the engine's challenge for blobs it already has: HMAC-SHA256(nonce, content) per digest.</summary>
    private static async Task SendProofsAsync(IClientStreamWriter<BuildRequest> requests, MissingFiles challenge,
        Dictionary<string, string> pathOf, CancellationToken cancellationToken)
    {
        var nonce = challenge.ChallengeNonce.ToByteArray();
        var proofs = new PossessionProofs();
        foreach (var digest in challenge.Prove)
        {
            if (!pathOf.TryGetValue(digest, out var path)) continue; // not ours to prove; the engine will say so
            await using var file = System.IO.File.OpenRead(path);
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
        await using var file = System.IO.File.OpenRead(path);
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

    /// <summary>Walks and hashes the context (the home's hash cache skips unchanged files) and sends its manifest;
    /// <paramref name="pathOf"/> gets a file of each digest, to upload or prove.</summary>
    private async Task SendManifestAsync(AsyncDuplexStreamingCall<BuildRequest, BuildResponse> call, string contextDir, string dockerfilePath,
        Dictionary<string, string> pathOf, CancellationToken cancellationToken)
    {
        var matcher = await IgnoreFileLocator.LoadAsync(contextDir, dockerfilePath, cancellationToken);
        var hashes = ContextHashCache.Open(Path.Combine(home, "context-hashes"), contextDir);
        var entries = ContextWalker.Walk(contextDir, matcher, hashes, cancellationToken);
        var manifest = new ContextManifest { AnswersChallenges = true };
        ContextManifestEntries.Add(manifest.Entries, entries, contextDir, pathOf);
        await call.RequestStream.WriteAsync(new BuildRequest { Manifest = manifest }, cancellationToken);
    }
}
