using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A hostile client of `buildfarm serve` (a hand-written gRPC client): it must not write on the server host
/// outside its build's context, nor get another build's context file by naming its digest.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeContextSecurityTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Symlink_then_file_entries_are_refused_and_nothing_is_written_on_the_host()
    {
        var hostDir = Directory.CreateDirectory(Path.Combine(_scratch.Root, "host-dir")).FullName;
        await using var server = await ServerAsync();
        var content = "planted by a client"u8.ToArray();
        var e = await Assert.ThrowsAsync<RpcException>(() => HostileBuildAsync(server.Address, content,
            [Link("a", hostDir), File("a/file", content)], upload: true, proof: null));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("a/file", e.Status.Detail);
        Assert.Empty(Directory.EnumerateFileSystemEntries(hostDir));
    }

    [Fact]
    public async Task Overwriting_an_existing_host_file_is_refused()
    {
        var hostDir = Directory.CreateDirectory(Path.Combine(_scratch.Root, "host-etc")).FullName;
        var victim = Path.Combine(hostDir, "passwd");
        System.IO.File.WriteAllText(victim, "root:x:0:0:root:/root:/bin/sh\n");
        await using var server = await ServerAsync();
        var content = "owned\n"u8.ToArray();
        var e = await Assert.ThrowsAsync<RpcException>(() => HostileBuildAsync(server.Address, content,
            [Link("etc", hostDir), File("etc/passwd", content)], upload: true, proof: null));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("etc/passwd", e.Status.Detail);
        Assert.Equal("root:x:0:0:root:/root:/bin/sh\n", System.IO.File.ReadAllText(victim));
    }

    [Fact]
    public async Task A_build_cannot_read_a_blob_it_named_but_could_not_prove()
    {
        await using var server = await ServerAsync();
        // An honest build puts its secret into the server's store (and proves it holds what is already there).
        var secret = Encoding.UTF8.GetBytes("another team's secret " + Guid.NewGuid());
        var victimContext = _scratch.Context("victim", "FROM scratch\nADD rootfs.tar /\nCOPY secret.txt /\n");
        System.IO.File.WriteAllBytes(Path.Combine(victimContext, "secret.txt"), secret);
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
        var honest = await client.BuildAsync("--server", server.Address, victimContext);
        Assert.True(honest.ExitCode == 0, honest.ToString());
        var again = await client.BuildAsync("--server", server.Address, victimContext);
        Assert.True(again.ExitCode == 0, again.ToString());

        // A thief names the digest without the content: no proof, then a made-up proof.
        var none = await Assert.ThrowsAsync<RpcException>(() => HostileBuildAsync(server.Address, secret, [File("loot.txt", secret)], upload: false, proof: null));
        Assert.Equal(StatusCode.PermissionDenied, none.StatusCode);
        Assert.Contains("loot.txt", none.Status.Detail);
        var forged = await Assert.ThrowsAsync<RpcException>(() => HostileBuildAsync(server.Address, secret, [File("loot.txt", secret)], upload: false,
            proof: _ => RandomNumberGenerator.GetBytes(32)));
        Assert.Equal(StatusCode.PermissionDenied, forged.StatusCode);
        Assert.Contains("loot.txt", forged.Status.Detail);
        // A client that does not answer challenges must upload instead, and the bytes it sends are checked.
        var garbage = await Assert.ThrowsAsync<RpcException>(() => HostileBuildAsync(server.Address, "not the secret"u8.ToArray(), [File("loot.txt", secret)],
            upload: true, proof: null, answersChallenges: false));
        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
        Assert.Contains("hash to", garbage.Status.Detail);
        // A proof made with another nonce (replayed) does not pass either.
        var replayed = await Assert.ThrowsAsync<RpcException>(() => HostileBuildAsync(server.Address, secret, [File("loot.txt", secret)], upload: false,
            proof: _ => HMACSHA256.HashData(new byte[32], secret)));
        Assert.Equal(StatusCode.PermissionDenied, replayed.StatusCode);
    }

    [Fact]
    public async Task A_client_holding_the_bytes_gets_its_context_by_proof_or_by_upload()
    {
        await using var server = await ServerAsync();
        var secret = Encoding.UTF8.GetBytes("shared bytes " + Guid.NewGuid());
        var first = await HostileBuildAsync(server.Address, secret, [File("mine.txt", secret)], upload: true, proof: null);
        Assert.Equal(BuildResponse.MessageOneofCase.Result, first.MessageCase);

        var proven = await HostileBuildAsync(server.Address, secret, [File("mine.txt", secret)], upload: false,
            proof: nonce => HMACSHA256.HashData(nonce, secret));
        Assert.Equal(BuildResponse.MessageOneofCase.Result, proven.MessageCase);
        var uploaded = await HostileBuildAsync(server.Address, secret, [File("mine.txt", secret)], upload: true, proof: null, answersChallenges: false);
        Assert.Equal(BuildResponse.MessageOneofCase.Result, uploaded.MessageCase);
    }

    [Fact]
    public async Task A_server_on_tcp_does_not_read_a_folder_of_its_host_named_by_a_client()
    {
        var hostDir = Directory.CreateDirectory(Path.Combine(_scratch.Root, "host-secrets")).FullName;
        System.IO.File.WriteAllText(Path.Combine(hostDir, "id_rsa"), "not for clients\n");
        await using var server = await ServerAsync();
        using var channel = GrpcChannel.ForAddress("http://" + server.Address);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var call = new BuildService.BuildServiceClient(channel).Build(cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.False(call.ResponseStream.Current.Accepted.ReadsLocalContext);
        await call.RequestStream.WriteAsync(new BuildRequest
        {
            Spec = new BuildSpec { Dockerfile = ByteString.CopyFromUtf8("FROM scratch\nCOPY . /\n"), DockerfilePath = "Dockerfile" },
        });
        await call.RequestStream.WriteAsync(new BuildRequest { Manifest = new ContextManifest { AnswersChallenges = true, LocalRoot = hostDir } });

        var e = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext(timeout.Token)) { } });

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("does not read client folders", e.Status.Detail);
    }

    private static ContextEntry Link(string path, string target) => new() { Path = path, Mode = 0xA000 | 0b111_111_111, LinkTarget = target };

    private static ContextEntry File(string path, byte[] content) => new()
    {
        Path = path, Mode = 0x8000 | 0b110_100_100, Size = content.Length, Sha256 = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)),
    };

    /// <summary>Speaks the Build protocol by hand: the server's Accepted, spec, manifest, the asked-for upload of <paramref name="content"/>,
    /// then <paramref name="proof"/>(nonce) for each digest to prove (no proofs message at all when null).</summary>
    private static async Task<BuildResponse> HostileBuildAsync(string address, byte[] content, ContextEntry[] entries, bool upload, Func<byte[], byte[]>? proof,
        bool answersChallenges = true)
    {
        using var channel = GrpcChannel.ForAddress("http://" + address);
        var client = new BuildService.BuildServiceClient(channel);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var call = client.Build(cancellationToken: timeout.Token);
        // The server speaks first: the build's id.
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal(BuildResponse.MessageOneofCase.Accepted, call.ResponseStream.Current.MessageCase);
        await call.RequestStream.WriteAsync(new BuildRequest
        {
            Spec = new BuildSpec { Dockerfile = ByteString.CopyFromUtf8("FROM scratch\nCOPY . /\n"), DockerfilePath = "Dockerfile" },
        });
        var manifest = new ContextManifest { AnswersChallenges = answersChallenges };
        manifest.Entries.AddRange(entries);
        await call.RequestStream.WriteAsync(new BuildRequest { Manifest = manifest });
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var missing = call.ResponseStream.Current.Missing;
        Assert.NotNull(missing);
        if (upload)
            foreach (var digest in missing.Digests)
                await call.RequestStream.WriteAsync(new BuildRequest { File = new FileChunk { Digest = digest, Data = ByteString.CopyFrom(content), Last = true } });
        if (proof is not null && missing.Prove.Count > 0)
        {
            var proofs = new PossessionProofs();
            foreach (var digest in missing.Prove)
                proofs.Proofs.Add(new PossessionProof { Digest = digest, HmacSha256 = ByteString.CopyFrom(proof(missing.ChallengeNonce.ToByteArray())) });
            await call.RequestStream.WriteAsync(new BuildRequest { Proofs = proofs });
        }
        else if (missing.Prove.Count > 0)
        {
            await call.RequestStream.CompleteAsync();
        }
        while (await call.ResponseStream.MoveNext(timeout.Token))
            if (call.ResponseStream.Current.MessageCase is BuildResponse.MessageOneofCase.Result or BuildResponse.MessageOneofCase.Error)
                return call.ResponseStream.Current;
        throw new InvalidOperationException("the server ended the build without a result");
    }

    private async Task<ServedFarm> ServerAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var process = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        process.StandardInput.Close();
        _ = process.StandardError.ReadToEndAsync();
        var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Contains("serving on", ready);
        return new ServedFarm($"127.0.0.1:{port}", process);
    }

    private sealed record ServedFarm(string Address, System.Diagnostics.Process Process) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", Process.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try { await Process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { Process.Kill(entireProcessTree: true); }
            Process.Dispose();
        }
    }
}
