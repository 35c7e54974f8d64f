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
        var printer = new ProgressPrinter(Console.Error, invocation.Progress, invocation.Environment.IsCi, color: !invocation.Environment.NoColor);
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
        catch (RpcException e) when (started is { Id: not null, ContextSent: true } && Lost(e) && !cancellationToken.IsCancellationRequested)
        {
            outcome = await ReattachAsync(endpoint, invocation.Spec, started, printer, cancellationToken)
                      ?? new BuildOutcome { Error = $"{endpoint.Describe(e)}; the build may still run: buildfarm watch {started.Id} --server {server}" };
        }
        catch (RpcException e)
        {
            outcome = new BuildOutcome { Error = endpoint.Describe(e) };
        }
        catch (NamedContextException e)
        {
            // a --build-context folder whose .dockerignore cannot be read: nothing was sent
            outcome = new BuildOutcome { ErrorClass = Protos.Cluster.ErrorClass.UserError, Error = e.Message };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Oci.Layers.UnsafeLayerPathException)
        {
            // An output that could not be brought here (written, checked or unpacked) fails the build, naming why.
            outcome = new BuildOutcome { Error = $"failed to export: {e.Message}" };
        }
        if (outcome.Success && started.Id is { } buildId) outcome = outcome with { BuildId = buildId };
        printer.Finish();
        return await EmbeddedBuild.ReportAsync(invocation, outcome, printer, cancellationToken.IsCancellationRequested);
    }

    /// <summary>The build's id once the farm told it (its first message), whether the farm has its whole context, and how
    /// many progress events were printed (a re-attached Watch replays from the start: those are skipped).</summary>
    private sealed class BuildStarted
    {
        public string? Id { get; set; }
        public bool ContextSent { get; set; }
        public int Seen { get; set; }
    }

    private static bool Lost(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted;

    /// <summary>
    /// The connection dropped after the farm had the whole context: the build goes on there, so follow it with Watch
    /// (a few tries, a second apart and more), printing only the events not printed yet. Null when it cannot.
    /// </summary>
    private static async Task<BuildOutcome?> ReattachAsync(RemoteEndpoint endpoint, BuildSpec spec, BuildStarted started,
        ProgressPrinter printer, CancellationToken cancellationToken)
    {
        await Console.Error.WriteLineAsync($"lost the connection to {endpoint.Server}: re-attaching to build {started.Id}");
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            try
            {
                using var call = endpoint.Client.Watch(new WatchRequest { BuildId = started.Id, FromStart = true }, cancellationToken: cancellationToken);
                var skip = started.Seen;
                await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    if (response.MessageCase == BuildResponse.MessageOneofCase.Progress)
                    {
                        if (skip > 0) { skip--; continue; }
                        printer.OnEvent(response.Progress);
                        started.Seen++;
                    }
                    else if (response.MessageCase is BuildResponse.MessageOneofCase.Result or BuildResponse.MessageOneofCase.Error)
                    {
                        return await FinishAsync(endpoint, spec, response, printer, cancellationToken);
                    }
                }
            }
            catch (RpcException e) when (Lost(e) && !cancellationToken.IsCancellationRequested)
            {
                // not back yet: try again
            }
        }
        return null;
    }

    /// <summary>The build's outcome; on success its file outputs are first brought here from the farm (ReadExport).</summary>
    private static async Task<BuildOutcome> FinishAsync(RemoteEndpoint endpoint, BuildSpec spec, BuildResponse response, ProgressPrinter printer,
        CancellationToken cancellationToken)
    {
        if (response.MessageCase == BuildResponse.MessageOneofCase.Result)
        {
            var download = new ExportDownload(endpoint.Client, endpoint.Server);
            foreach (var export in response.Result.Exports)
            {
                if (export.OutputIndex < 0 || export.OutputIndex >= spec.Outputs.Count)
                    return new BuildOutcome { Error = $"{endpoint.Server} sent export {export.Id} for output {export.OutputIndex}, which this build did not ask for" };
                var output = spec.Outputs[export.OutputIndex];
                await download.SaveAsync(export, output, cancellationToken);
                printer.Info($"exporting {output.Type} to {output.Attrs["dest"]} done ({export.Size} bytes)");
            }
        }
        return OutcomeOf(response);
    }

    /// <summary>The client's docker-config credentials for each registry this build pushes to (tags or output names).</summary>
    private static IEnumerable<RegistryLogin> PushLogins(BuildSpec spec, CliEnvironment environment)
    {
        var names = new List<string>();
        if (spec.Push) names.AddRange(spec.Tags);
        foreach (var output in spec.Outputs.Where(o => o.Type == "registry" || (o.Type == "image" && o.Attrs.GetValueOrDefault("push") == "true")))
            names.AddRange(output.Attrs.TryGetValue("name", out var n) ? n.Split(',', StringSplitOptions.RemoveEmptyEntries) : spec.Tags);
        // --cache-from/--cache-to type=registry run on the farm, with the client's logins as its push
        names.AddRange(spec.CacheFrom.Concat(spec.CacheTo).Where(c => c.Type == "registry").Select(c => c.Attrs.GetValueOrDefault("ref") ?? ""));
        var registries = names.Select(n => Oci.Registry.ImageReference.TryParse(n, out var r, out _) ? r.Registry : null)
            .OfType<string>().Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (registries.Count == 0) yield break;
        var credentials = Oci.Registry.DockerConfigCredentialProvider.FromDirectory(environment.DockerConfigDirectory);
        foreach (var registry in registries)
        {
            if (credentials.Find(registry) is not { } credential) continue;
            yield return new RegistryLogin
            {
                Registry = registry,
                Username = credential.Username,
                Password = credential.Password,
                IdentityToken = credential.IdentityToken ?? "",
            };
        }
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
            CallJson = response.Result.CallJson.Length > 0 ? response.Result.CallJson : null,
            CallText = response.Result.CallText,
        }
        : new BuildOutcome
        {
            Canceled = ErrorClassNames.Parse(response.Error.ErrorClass) == Protos.Cluster.ErrorClass.Canceled
                       || response.Error.Message == "canceled",
            ErrorClass = ErrorClassNames.Parse(response.Error.ErrorClass),
            Error = response.Error.Message,
            ErrorLocation = response.Error.Location,
            ErrorInstruction = response.Error.Instruction,
            LogTail = [.. response.Error.LogTail],
            ExitCode = response.Error.ExitCode,
            LintWarnings = [.. response.Error.LintWarnings.Select(LintWarningMessages.FromMessage)],
        };

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
        var readsLocal = call.ResponseStream.Current.Accepted.ReadsLocalContext;
        var spec = invocation.Spec.Clone();
        // The farm pushes with these for this build only; a served build has no other credentials to push with.
        spec.RegistryLogins.AddRange(PushLogins(spec, invocation.Environment));
        // A local engine (unix:) runs this build with this client's docker config and proxies, not its starter's; a farm
        // would ignore them, so its proxies (which may hold credentials) never leave this machine.
        if (endpoint.Server.StartsWith(RemoteEndpoint.UnixPrefix, StringComparison.Ordinal))
            spec.ClientEnvironment.Add(ClientEnvironmentVariables.Collect(invocation.Environment.Variable));
        // --ssh: the agents stay here (key files get an ssh-agent of their own); the server learns the ids only and sends
        // its RUN steps' agent connections back over this call.
        var localSsh = new List<SshSource>(spec.Ssh.Select(s => s.Clone()));
        await using var agents = await SshAgents.StartAsync(localSsh, cancellationToken);
        var agentOf = localSsh.ToDictionary(s => s.Id.Length > 0 ? s.Id : "default", s => s.Paths[0], StringComparer.Ordinal);
        foreach (var ssh in spec.Ssh) ssh.Paths.Clear();
        var requests = new Coordinator.Api.SerializedStreamWriter<BuildRequest>(call.RequestStream);
        await using var relay = new Coordinator.Api.SshFrameRelay((frame, ct) => requests.WriteAsync(new BuildRequest { Ssh = frame }, ct));
        await requests.WriteAsync(new BuildRequest { Spec = spec }, cancellationToken);

        var pathOf = new Dictionary<string, string>(StringComparer.Ordinal);
        if (readsLocal)
        {
            // This user's engine on this host reads the folder where it is (cli/Engine/README.md): nothing to walk,
            // hash or upload here, and nothing for it to copy.
            var local = LocalManifest(invocation);
            // named folders and layouts still go up the stream: the engine reads only the main context in place
            local.NamedContexts.Add(await NamedContextManifestsAsync(spec, pathOf, cancellationToken));
            await requests.WriteAsync(new BuildRequest { Manifest = local }, cancellationToken);
            started.ContextSent = true;
        }
        else await SendManifestAsync(invocation, spec, requests, pathOf, cancellationToken);

        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            switch (response.MessageCase)
            {
                case BuildResponse.MessageOneofCase.Missing:
                    foreach (var digest in response.Missing.Digests)
                        await SendFileAsync(requests, digest, pathOf[digest], cancellationToken);
                    if (response.Missing.Prove.Count > 0)
                        await SendProofsAsync(requests, response.Missing, pathOf, cancellationToken);
                    started.ContextSent = true;
                    break;
                case BuildResponse.MessageOneofCase.Progress:
                    printer.OnEvent(response.Progress);
                    started.Seen++;
                    break;
                case BuildResponse.MessageOneofCase.Ssh:
                    await ForwardSshAsync(response.Ssh, relay, agentOf, requests, cancellationToken);
                    break;
                case BuildResponse.MessageOneofCase.Result or BuildResponse.MessageOneofCase.Error:
                    await relay.DisposeAsync();
                    await requests.CompleteAsync();
                    return await FinishAsync(endpoint, spec, response, printer, cancellationToken);
            }
        }
        return new BuildOutcome { Error = $"{server} ended the build without a result" };
    }

    /// <summary>
    /// The files of each --build-context folder (after its own .dockerignore, as BuildKit sends a named local context) and
    /// OCI layout, for the farm to ask for like the main context's: content-addressed, so an unchanged folder uploads
    /// nothing the next time.
    /// </summary>
    private static async Task<List<NamedContextManifest>> NamedContextManifestsAsync(BuildSpec spec, Dictionary<string, string> pathOf,
        CancellationToken cancellationToken)
    {
        var manifests = new List<NamedContextManifest>();
        foreach (var (name, value) in spec.NamedContexts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var source = NamedContextSource.Parse(value);
            if (!source.HasFiles) continue;
            var matcher = source.Kind == NamedContextKind.Folder
                ? await NamedContextIgnore.LoadAsync(name, source.Path, cancellationToken) ?? PatternMatcher.Create([])
                : PatternMatcher.Create([]);
            var named = new NamedContextManifest { Name = name };
            ContextManifestEntries.Add(named.Entries, ContextWalker.Walk(source.Path, matcher, cancellationToken), source.Path, pathOf);
            manifests.Add(named);
        }
        return manifests;
    }

    /// <summary>Walks and hashes the context (the home's hash cache skips unchanged files) and sends its manifest;
    /// <paramref name="pathOf"/> gets a file of each digest, to upload or prove.</summary>
    private static async Task SendManifestAsync(BuildInvocation invocation, BuildSpec spec, Coordinator.Api.SerializedStreamWriter<BuildRequest> requests,
        Dictionary<string, string> pathOf, CancellationToken cancellationToken)
    {
        var matcher = await IgnoreFileLocator.LoadAsync(invocation.ContextDir, invocation.DockerfilePath, cancellationToken);
        var hashes = ContextHashCache.Open(invocation.Environment.Home.ContextHashes, invocation.ContextDir);
        var entries = ContextWalker.Walk(invocation.ContextDir, matcher, hashes, cancellationToken);
        var manifest = new ContextManifest { AnswersChallenges = true };
        ContextManifestEntries.Add(manifest.Entries, entries, invocation.ContextDir, pathOf);
        manifest.NamedContexts.Add(await NamedContextManifestsAsync(spec, pathOf, cancellationToken));
        await requests.WriteAsync(new BuildRequest { Manifest = manifest }, cancellationToken);
    }

    private static ContextManifest LocalManifest(BuildInvocation invocation) => new()
    {
        AnswersChallenges = true,
        LocalRoot = invocation.ContextDir,
        LocalDockerfile = invocation.DockerfilePath,
        LocalRootIdentity = LocalContextRoot.IdentityOf(invocation.ContextDir),
    };

    /// <summary>A frame of a forwarded agent connection: an opening one connects to this machine's agent for its id (or
    /// answers close when there is none); the others go to their connection.</summary>
    private static async Task ForwardSshAsync(SshFrame frame, Coordinator.Api.SshFrameRelay relay, IReadOnlyDictionary<string, string> agentOf,
        Coordinator.Api.SerializedStreamWriter<BuildRequest> requests, CancellationToken cancellationToken)
    {
        if (relay.IsOpen(frame.Connection) || frame.Close || frame.Id.Length == 0)
        {
            await relay.DeliverAsync(frame, cancellationToken);
            return;
        }
        var agent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        try
        {
            if (!agentOf.TryGetValue(frame.Id, out var path)) throw new System.Net.Sockets.SocketException();
            await agent.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path), cancellationToken);
        }
        catch (System.Net.Sockets.SocketException)
        {
            agent.Dispose();
            await requests.WriteAsync(new BuildRequest { Ssh = new SshFrame { Connection = frame.Connection, Close = true } }, cancellationToken);
            return;
        }
        relay.Attach(frame.Connection, agent);
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
