using System.Diagnostics;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary><c>--team-queue-limit</c>: a team with that many builds in flight gets RESOURCE_EXHAUSTED with a retry-after
/// at once (never a hang); other teams are served meanwhile.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class TeamQueueLimitTests(BusyboxFixture busybox) : IDisposable
{
    private const string TeamA = "queue-team-a-token-0123456789";
    private const string TeamB = "queue-team-b-token-0123456789";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private BuildFarmCli Client(string token) =>
        new(Path.Combine(_scratch.Root, "client-" + Guid.NewGuid().ToString("N")[..6])) { Environment = { ["BUILDFARM_TOKEN"] = token } };

    [Fact]
    public async Task A_build_over_the_team_queue_limit_is_refused_with_a_retry_after_and_the_cli_exits_non_zero()
    {
        var tokens = Path.Combine(_scratch.Root, "tokens");
        File.WriteAllText(tokens, $"{TeamA} team-a\n{TeamB} team-b\n");
        var port = FreeTcpPort.Next();
        var address = $"127.0.0.1:{port}";
        await using var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", "serve", "--listen", address, "--tokens", tokens,
            "--team-queue-limit", "team-a=1");
        await server.ReadyAsync(TimeSpan.FromMinutes(1));
        var teamA = Client(TeamA);
        using var first = teamA.Start("build", "--progress", "plain", "--server", address, _scratch.Context("long", "FROM scratch\nADD rootfs.tar /\nRUN sleep 30\n"));
        first.StandardInput.Close();
        _ = first.StandardError.ReadToEndAsync();
        await WaitUntilRunningAsync(teamA, address);

        var clock = Stopwatch.StartNew();
        var refused = await teamA.BuildAsync("--server", address, _scratch.Context("second", "FROM scratch\nADD rootfs.tar /\n"));
        var refusedIn = clock.Elapsed;
        var otherTeam = await Client(TeamB).BuildAsync("--server", address, _scratch.Context("other", "FROM scratch\nADD rootfs.tar /\n"));
        var trailer = await RawRefusalAsync(address);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("the farm is busy: team \"team-a\" has 1 builds queued or running, its limit is 1; retry after", refused.Stderr);
        Assert.Contains("(ResourceExhausted)", refused.Stderr);
        Assert.True(refusedIn < TimeSpan.FromSeconds(20), $"the refusal took {refusedIn}");
        Assert.True(otherTeam.ExitCode == 0, otherTeam.ToString());
        Assert.Equal(StatusCode.ResourceExhausted, trailer.StatusCode);
        Assert.True(int.TryParse(trailer.Trailers.GetValue("retry-after"), out var seconds) && seconds >= 1, $"retry-after: {trailer.Trailers}");
    }

    // The same refusal seen by a hand-written client: the retry-after trailer is there for any gRPC client, not only ours.
    private static async Task<RpcException> RawRefusalAsync(string address)
    {
        using var channel = GrpcChannel.ForAddress("http://" + address);
        using var call = new BuildService.BuildServiceClient(channel).Build(new Metadata { { "authorization", "Bearer " + TeamA } },
            deadline: DateTime.UtcNow.AddSeconds(30));
        // Refused before the server sends the build's id or reads a message: the first read fails.
        return await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        });
    }

    private static async Task WaitUntilRunningAsync(BuildFarmCli client, string address)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            if ((await client.RunAsync("builds", "--server", address, "--format", "json")).Stdout.Contains("\"running\"", StringComparison.Ordinal)) return;
            await Task.Delay(200);
        }
        throw new TimeoutException("team a's first build did not start within a minute");
    }
}
