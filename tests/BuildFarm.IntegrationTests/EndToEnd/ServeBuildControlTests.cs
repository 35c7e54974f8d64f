using BuildFarm.IntegrationTests.Infrastructure;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A served build's flags and control: --no-cache-filter, labels and platform through --server, Ctrl-C as a
/// Cancel on the farm, a tokens file edited while the farm runs, and server reflection.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ServeBuildControlTests(BusyboxFixture busybox) : IDisposable
{
    private const string Token = "team-a-token-0123456789";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();


    private async Task<(HostProcess Server, string Address)> ServeAsync(params string[] args)
    {
        var port = FreeTcpPort.Next();
        var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", ["serve", "--listen", $"127.0.0.1:{port}", .. args]);
        await server.ReadyAsync(TimeSpan.FromMinutes(1));
        return (server, $"127.0.0.1:{port}");
    }

    private BuildFarmCli Client() => new(Path.Combine(_scratch.Root, "client-" + Guid.NewGuid().ToString("N")[..6]));

    [Fact]
    public async Task No_cache_filter_labels_and_platform_reach_the_farm()
    {
        var (server, address) = await ServeAsync();
        await using var host = server;
        var context = _scratch.Context("filter", "FROM scratch AS base\nADD rootfs.tar /\nRUN echo base > /b\n\nFROM base AS app\nRUN echo app > /a\n");
        var client = Client();
        var first = await client.BuildAsync("--server", address, context);
        Assert.True(first.ExitCode == 0, first.ToString());

        var filtered = await client.BuildAsync("--server", address, "--no-cache-filter", "app", "--label", "team=a", "-t", "labeled", context);
        var arm = await client.BuildAsync("--server", address, "--platform", "linux/arm64", "-t", "arm",
            _scratch.Context("arm", "FROM scratch\nADD rootfs.tar /\n"));

        Assert.True(filtered.ExitCode == 0, filtered.ToString());
        var progress = new PlainProgress(filtered.Stderr);
        Assert.Contains(progress.Executed, s => s.Contains("RUN echo app", StringComparison.Ordinal));
        Assert.Contains(progress.Cached, s => s.Contains("RUN echo base", StringComparison.Ordinal));
        Assert.True(arm.ExitCode == 0, arm.ToString());
        Assert.Equal("a", (await _scratch.Cli.RunAsync("inspect", "-f", "{{index .Config.Labels \"team\"}}", "labeled")).Stdout.Trim());
        Assert.Equal("arm64", (await _scratch.Cli.RunAsync("inspect", "-f", "{{.Architecture}}", "arm")).Stdout.Trim());
    }

    [Fact]
    public async Task Ctrl_c_on_a_remote_build_cancels_it_on_the_farm()
    {
        var (server, address) = await ServeAsync();
        await using var host = server;
        var client = Client();
        using var build = client.Start("build", "--progress", "plain", "--server", address,
            _scratch.Context("sigint", "FROM scratch\nADD rootfs.tar /\nRUN sleep 60\n"));
        build.StandardInput.Close();
        _ = build.StandardError.ReadToEndAsync();
        await WaitForStateAsync(client, address, "running");

        await BuildFarmCli.ToolAsync("kill", "-INT", build.Id.ToString());

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await build.WaitForExitAsync(exit.Token);
        Assert.Equal(130, build.ExitCode);
        await WaitForStateAsync(client, address, "canceled");
    }

    [Fact]
    public async Task A_token_added_to_the_tokens_file_works_without_a_restart()
    {
        var tokens = Path.Combine(_scratch.Root, "tokens");
        File.WriteAllText(tokens, $"{Token} team-a\n");
        var (server, address) = await ServeAsync("--tokens", tokens);
        await using var host = server;
        const string added = "team-c-token-0123456789";
        Assert.Equal(1, (await Client().RunAsync("builds", "--server", address, "--token", added)).ExitCode);

        File.AppendAllText(tokens, $"{added} team-c\n");

        var after = await Client().RunAsync("builds", "--server", address, "--token", added);
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public async Task The_api_answers_server_reflection()
    {
        var (server, address) = await ServeAsync();
        await using var host = server;
        using var channel = GrpcChannel.ForAddress("http://" + address);
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("buildfarm.v1.BuildService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    private static async Task WaitForStateAsync(BuildFarmCli client, string address, string state)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < deadline)
        {
            var listed = await client.RunAsync("builds", "--server", address, "--format", "json");
            using var json = JsonDocument.Parse(listed.Stdout);
            if (json.RootElement.EnumerateArray().Any(b => b.GetProperty("state").GetString() == state)) return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"no build reached {state} within a minute");
    }
}
