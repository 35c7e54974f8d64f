using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Worker.Actors;

namespace BuildFarm.Tests.Engine;

/// <summary>A build's ssh agent reached from a worker of another host: the worker's <see cref="RemoteSshAgentLink"/> and
/// the build's <see cref="SshAgentProvider"/>, against a real unix socket standing where the agent's would be.</summary>
public sealed class SshAgentRelayTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _folder = Directory.CreateTempSubdirectory("bf-ssh-relay-").FullName;
    private readonly Socket _agent;

    public SshAgentRelayTests() : base("""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        """)
    {
        _agent = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _agent.Bind(new UnixDomainSocketEndPoint(AgentPath));
        _agent.Listen(4);
    }

    private string AgentPath => Path.Combine(_folder, "agent.sock");

    private RemoteSshAgentLink Link(IActorRef provider) =>
        new(Sys, Akka.Serialization.Serialization.SerializedActorPath(provider), "b1", Wait);

    private IActorRef Provider() =>
        Sys.ActorOf(SshAgentProvider.Props("b1", new Dictionary<string, string> { ["default"] = AgentPath }));

    [Fact]
    public async Task Relayed_connection_carries_bytes_both_ways()
    {
        using var link = Link(Provider());
        await using var stream = await link.ConnectAsync("default", CancellationToken.None);
        using var agentSide = await _agent.AcceptAsync().WaitAsync(Wait);

        await stream.WriteAsync(Encoding.ASCII.GetBytes("request"));
        Assert.Equal("request", await ReceiveAsync(agentSide, 7));
        await agentSide.SendAsync(Encoding.ASCII.GetBytes("answer"));
        Assert.Equal("answer", await ReadAsync(stream, 6));
    }

    [Fact]
    public async Task Closing_the_workers_stream_closes_the_agents_connection()
    {
        using var link = Link(Provider());
        var stream = await link.ConnectAsync("default", CancellationToken.None);
        using var agentSide = await _agent.AcceptAsync().WaitAsync(Wait);

        await stream.DisposeAsync();

        Assert.Equal(0, await agentSide.ReceiveAsync(new byte[16].AsMemory()).AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task The_agent_closing_ends_the_workers_stream()
    {
        using var link = Link(Provider());
        await using var stream = await link.ConnectAsync("default", CancellationToken.None);
        var agentSide = await _agent.AcceptAsync().WaitAsync(Wait);

        agentSide.Dispose();

        Assert.Equal(0, await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task The_build_ending_closes_every_connection()
    {
        var provider = Provider();
        using var link = Link(provider);
        await using var stream = await link.ConnectAsync("default", CancellationToken.None);
        using var agentSide = await _agent.AcceptAsync().WaitAsync(Wait);

        Sys.Stop(provider);

        Assert.Equal(0, await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(Wait));
        Assert.Equal(0, await agentSide.ReceiveAsync(new byte[16].AsMemory()).AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task An_id_the_build_did_not_forward_fails_naming_it()
    {
        using var link = Link(Provider());

        var error = await Assert.ThrowsAsync<IOException>(() => link.ConnectAsync("deploy", CancellationToken.None));

        Assert.Contains("no SSH key \"deploy\" forwarded", error.Message);
    }

    private static async Task<string> ReceiveAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(got)).AsTask().WaitAsync(Wait);
            if (read == 0) break;
            got += read;
        }
        return Encoding.ASCII.GetString(buffer, 0, got);
    }

    private static async Task<string> ReadAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(got)).AsTask().WaitAsync(Wait);
            if (read == 0) break;
            got += read;
        }
        return Encoding.ASCII.GetString(buffer, 0, got);
    }

    void IDisposable.Dispose()
    {
        Dispose(); // the actor system first: its connections close before the agent's socket goes
        _agent.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
