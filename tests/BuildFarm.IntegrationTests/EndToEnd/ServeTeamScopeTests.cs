using System.Security.Cryptography;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A farm with tokens: the images and file outputs a team sees are the ones its builds made (the cache stays
/// shared); an image two teams built is both teams'.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeTeamScopeTests(BusyboxFixture busybox) : IDisposable
{
    private const string TeamA = "scope-team-a-token-0123456789";
    private const string TeamB = "scope-team-b-token-0123456789";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private async Task<(HostProcess Server, string Address)> ServeAsync()
    {
        var tokens = Path.Combine(_scratch.Root, "tokens");
        File.WriteAllText(tokens, $"{TeamA} team-a\n{TeamB} team-b\n");
        var port = FreeTcpPort.Next();
        var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", "serve", "--listen", $"127.0.0.1:{port}", "--tokens", tokens);
        await server.ReadyAsync(TimeSpan.FromMinutes(1));
        return (server, $"127.0.0.1:{port}");
    }

    // One epoch: both teams' builds of one context are the same image (same digest), as the shared cache makes them.
    private BuildFarmCli Client(string token) =>
        new(Path.Combine(_scratch.Root, "client-" + Guid.NewGuid().ToString("N")[..6]))
        {
            Environment = { ["BUILDFARM_TOKEN"] = token, ["SOURCE_DATE_EPOCH"] = "1700000000" },
        };

    [Fact]
    public async Task A_team_lists_and_removes_its_two_platform_image_by_its_index()
    {
        var (server, address) = await ServeAsync();
        await using var _ = server;
        var teamB = Client(TeamB);
        var context = MultiPlatformBusybox.Context(_scratch, busybox.Rootfs);
        var metadata = Path.Combine(_scratch.Root, "metadata.json");

        var built = await teamB.BuildAsync("--server", address, "--platform", "linux/amd64,linux/arm64", "-t", "b-multi:1", "--metadata-file", metadata, context);
        Assert.True(built.ExitCode == 0, built.ToString());
        var index = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(metadata))!["containerimage.digest"]!.GetValue<string>();

        // The team owns the index it built (the store names the index, not only the host platform's manifest).
        var listed = await teamB.RunAsync("images", "--digests", "--server", address);
        Assert.Contains("b-multi", listed.Stdout);
        Assert.Contains(index, listed.Stdout);
        Assert.DoesNotContain("b-multi", (await Client(TeamA).RunAsync("images", "--server", address)).Stdout);
        Assert.Equal(0, (await teamB.RunAsync("rmi", "--server", address, "b-multi:1")).ExitCode);
    }

    [Fact]
    public async Task Team_a_cannot_list_or_remove_an_image_team_b_built()
    {
        var (server, address) = await ServeAsync();
        await using var _ = server;
        var teamA = Client(TeamA);
        var teamB = Client(TeamB);
        var context = _scratch.Context("b-only", $"FROM scratch\nADD rootfs.tar /\nRUN echo {Guid.NewGuid():N} > /id\n");

        var built = await teamB.BuildAsync("--server", address, "-t", "b-app:1", context);
        Assert.True(built.ExitCode == 0, built.ToString());

        var seenByA = await teamA.RunAsync("images", "--server", address);
        var seenByB = await teamB.RunAsync("images", "--server", address);
        Assert.True(seenByA.ExitCode == 0, seenByA.ToString());
        Assert.DoesNotContain("b-app", seenByA.Stdout);
        Assert.Contains("b-app", seenByB.Stdout);

        var removedByA = await teamA.RunAsync("rmi", "--server", address, "b-app:1");
        Assert.Equal(1, removedByA.ExitCode);
        Assert.Contains("No such image: b-app:1", removedByA.Stderr);
        Assert.Contains("b-app", (await teamB.RunAsync("images", "--server", address)).Stdout);
    }

    [Fact]
    public async Task An_image_built_by_both_teams_is_listed_for_both_and_one_team_removing_it_leaves_it_to_the_other()
    {
        var (server, address) = await ServeAsync();
        await using var _ = server;
        var teamA = Client(TeamA);
        var teamB = Client(TeamB);
        var context = _scratch.Context("shared", "FROM scratch\nADD rootfs.tar /\n");

        Assert.Equal(0, (await teamA.BuildAsync("--server", address, "-t", "shared-app:1", context)).ExitCode);
        Assert.Equal(0, (await teamB.BuildAsync("--server", address, "-t", "shared-app:1", context)).ExitCode);
        Assert.Contains("shared-app", (await teamA.RunAsync("images", "--server", address)).Stdout);
        Assert.Contains("shared-app", (await teamB.RunAsync("images", "--server", address)).Stdout);

        var removedByA = await teamA.RunAsync("rmi", "--server", address, "shared-app:1");
        Assert.True(removedByA.ExitCode == 0, removedByA.ToString());
        Assert.DoesNotContain("shared-app", (await teamA.RunAsync("images", "--server", address)).Stdout);
        Assert.Contains("shared-app", (await teamB.RunAsync("images", "--server", address)).Stdout);
    }

    [Fact]
    public async Task Team_a_cannot_read_or_release_a_file_output_of_team_b()
    {
        var (server, address) = await ServeAsync();
        await using var _ = server;
        var content = System.Text.Encoding.UTF8.GetBytes("team b's output " + Guid.NewGuid());
        var export = await BuildWithTarOutputAsync(address, TeamB, content);

        var byA = await Assert.ThrowsAsync<RpcException>(() => ReadExportAsync(address, TeamA, export.Id));
        Assert.Equal(StatusCode.NotFound, byA.StatusCode);
        using (var channel = GrpcChannel.ForAddress("http://" + address))
            await new BuildService.BuildServiceClient(channel).ReleaseExportAsync(new ReleaseExportRequest { Id = export.Id }, Bearer(TeamA));
        var byB = await ReadExportAsync(address, TeamB, export.Id);
        Assert.Equal(export.Size, byB.Length);
        Assert.Equal(export.Sha256, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(byB)));
    }

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private static async Task<byte[]> ReadExportAsync(string address, string token, string id)
    {
        using var channel = GrpcChannel.ForAddress("http://" + address);
        using var call = new BuildService.BuildServiceClient(channel).ReadExport(new ReadExportRequest { Id = id }, Bearer(token),
            deadline: DateTime.UtcNow.AddMinutes(1));
        using var bytes = new MemoryStream();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) call.ResponseStream.Current.Data.WriteTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>A build with <c>-o type=tar</c> spoken by hand, so its output stays on the server (the CLI would read and release it).</summary>
    private static async Task<ExportFile> BuildWithTarOutputAsync(string address, string token, byte[] content)
    {
        using var channel = GrpcChannel.ForAddress("http://" + address);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var call = new BuildService.BuildServiceClient(channel).Build(Bearer(token), cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var spec = new BuildSpec { Dockerfile = ByteString.CopyFromUtf8("FROM scratch\nCOPY out.txt /\n"), DockerfilePath = "Dockerfile" };
        spec.Outputs.Add(new OutputSpec { Type = "tar", Attrs = { ["dest"] = "out.tar" } });
        await call.RequestStream.WriteAsync(new BuildRequest { Spec = spec });
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
        var manifest = new ContextManifest { Entries = { new ContextEntry { Path = "out.txt", Mode = 0x8000 | 0b110_100_100, Size = content.Length, Sha256 = digest } } };
        await call.RequestStream.WriteAsync(new BuildRequest { Manifest = manifest });
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        foreach (var missing in call.ResponseStream.Current.Missing.Digests)
            await call.RequestStream.WriteAsync(new BuildRequest { File = new FileChunk { Digest = missing, Data = ByteString.CopyFrom(content), Last = true } });
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            var message = call.ResponseStream.Current;
            if (message.Error is { } error) throw new InvalidOperationException("the build failed: " + error.Message);
            if (message.Result is { } result) return Assert.Single(result.Exports);
        }
        throw new InvalidOperationException("the server ended the build without a result");
    }
}
