using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using Xunit.Abstractions;

namespace BuildFarm.Tests.Engine;

/// <summary>Issue 17: remoting that no local user can drive. The engine's remoting port speaks mutual TLS with a pinned
/// certificate; a raw TCP client, a plain Akka system and one with another certificate get nothing through.</summary>
public sealed class RemotingTlsTests : IAsyncLifetime
{
    // How long a delivery that must not happen is given to happen anyway.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(4);
    // What a delivery that must succeed may take on a loaded machine (TLS handshake and association included); also
    // what the node may take to refuse a handshake or close a connection (the wait ends as soon as it does).
    private static readonly TimeSpan SuccessPatience = TimeSpan.FromSeconds(30);

    private readonly string _root = Directory.CreateTempSubdirectory("bftls").FullName;
    private SharedCache _cache = null!;
    private X509Certificate2 _certificate = null!;
    private EngineNode _node = null!;
    private readonly Inbox _inbox = new();

    public async Task InitializeAsync()
    {
        _cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = Path.Combine(_root, "cache") });
        _certificate = RemotingCertificate.LoadOrCreate(Path.Combine(_root, "remoting.p12"));
        _node = await StartNodeAsync(new EngineOptions { Tls = RemotingTls.SelfTrusting(_certificate) });
        _node.System.ActorOf(Props.Create(() => new InboxActor(_inbox)), "target");
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _cache.Dispose();
        _certificate.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private Address NodeAddress => Cluster.Get(_node.System).SelfAddress;

    // The same host and port as a plain TCP peer would name them.
    private Address PlainNodeAddress => new("akka.tcp", NodeAddress.System, NodeAddress.Host, NodeAddress.Port);

    [Fact]
    public async Task Remoting_drops_a_raw_tcp_client()
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", NodeAddress.Port!.Value);
        var stream = client.GetStream();
        // Anything but a TLS ClientHello: the handshake fails and the server closes the connection.
        await stream.WriteAsync("\0\0\0\x10akka.tcp://x@1:2/"u8.ToArray());

        Assert.True(await ClosedByPeerAsync(stream), "the node kept a plain TCP connection open");
        Assert.Empty(_inbox.Received);
    }

    [Fact]
    public async Task Remoting_refuses_a_tls_client_without_a_certificate()
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", NodeAddress.Port!.Value);
        await using var tls = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "127.0.0.1" })
                .WaitAsync(SuccessPatience);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return; // refused during the handshake (TLS 1.2)
        }
        // TLS 1.3 finishes the client's side first; the server then rejects the missing certificate and closes.
        Assert.True(await ClosedByPeerAsync(tls), "the node accepted a TLS client that showed no certificate");
    }

    [Fact]
    public async Task A_system_without_the_certificate_cannot_deliver_a_message()
    {
        using var plain = ActorSystem.Create("plain", ClientConfig(ssl: false));
        try
        {
            Assert.False(await DeliversAsync(plain, PlainNodeAddress), "a plain TCP Akka system delivered a message");
        }
        finally { await plain.Terminate(); }
    }

    [Fact]
    public async Task A_system_with_another_certificate_cannot_deliver_a_message()
    {
        using var other = RemotingCertificate.LoadOrCreate(Path.Combine(_root, "other.p12"));
        using var system = ActorSystem.Create("other", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(ClientConfig(ssl: true)),
            new DotNettySslSetup(other, false, true, false, (_, _, _, _, _) => true)));
        try
        {
            Assert.False(await DeliversAsync(system), "a system with an unpinned certificate delivered a message");
        }
        finally { await system.Terminate(); }
    }

    [Fact]
    public async Task A_system_with_the_certificate_delivers_a_message()
    {
        using var system = ActorSystem.Create("same", ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(ClientConfig(ssl: true)),
            new DotNettySslSetup(_certificate, false, true, false, (c, _, _, _, _) => RemotingTls.SelfTrusting(_certificate).Trusts(c))));
        try
        {
            Assert.True(await DeliversAsync(system, patience: SuccessPatience), "the pinned certificate could not deliver: the other tests prove nothing");
        }
        finally { await system.Terminate(); }
    }

    [Fact]
    public async Task A_node_without_the_certificate_cannot_join_and_one_with_it_can()
    {
        using var timeout = new CancellationTokenSource(Patience);
        // Fails (join refused, or still not joined when the patience runs out) rather than becoming a member.
        await Assert.ThrowsAnyAsync<Exception>(() => StartNodeAsync(
            new EngineOptions { Roles = [EngineRoles.Worker], SeedNodes = [PlainNodeAddress.ToString()] }, timeout.Token));
        Assert.Single(Cluster.Get(_node.System).State.Members);

        await using var member = await StartNodeAsync(new EngineOptions
        {
            Roles = [EngineRoles.Worker], SeedNodes = [NodeAddress.ToString()], Tls = RemotingTls.SelfTrusting(_certificate),
        });
        Assert.Equal(2, Cluster.Get(member.System).State.Members.Count(m => m.Status == MemberStatus.Up));
    }

    private Task<EngineNode> StartNodeAsync(EngineOptions options, CancellationToken cancellationToken = default) =>
        EngineNode.StartAsync(options, new CacheStepRecordStore(_cache), cancellationToken);

    // A message through the node's remoting: Identify answers only if the target could be reached; the inbox shows
    // whether the plain message itself arrived.
    private async Task<bool> DeliversAsync(ActorSystem from, Address? to = null, TimeSpan? patience = null)
    {
        var wait = patience ?? Patience;
        var target = from.ActorSelection($"{to ?? NodeAddress}/user/target");
        target.Tell("hello");
        try
        {
            var identity = await target.Ask<ActorIdentity>(new Identify(1), wait);
            return identity.Subject is not null && await _inbox.WaitAsync(wait);
        }
        catch (AskTimeoutException)
        {
            return !_inbox.Received.IsEmpty;
        }
    }

    private static Config ClientConfig(bool ssl) => ConfigurationFactory.ParseString($$"""
        akka.loglevel = ERROR
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0, enable-ssl = {{(ssl ? "on" : "off")}} }
        """);

    private static async Task<bool> ClosedByPeerAsync(Stream stream)
    {
        var buffer = new byte[256];
        try
        {
            using var timeout = new CancellationTokenSource(SuccessPatience);
            while (true)
                if (await stream.ReadAsync(buffer, timeout.Token) == 0) return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException) { return true; }
    }

    private sealed class Inbox
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public System.Collections.Concurrent.ConcurrentQueue<object> Received { get; } = new();

        public void Add(object message)
        {
            Received.Enqueue(message);
            _first.TrySetResult();
        }

        public async Task<bool> WaitAsync(TimeSpan patience) =>
            await Task.WhenAny(_first.Task, Task.Delay(patience)) == _first.Task;
    }

    private sealed class InboxActor : ReceiveActor
    {
        public InboxActor(Inbox inbox) => ReceiveAny(inbox.Add);
    }
}
