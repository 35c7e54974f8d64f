using System.Threading.Channels;
using Akka.Actor;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Worker.Actors;

/// <summary>
/// The worker's end of one forwarded ssh agent connection: receives the agent's frames into the connection's stream and
/// learns the agent's end from <see cref="SshConnectionOpened"/>. Either side ending ends both: a close from the agent's
/// end (or its node dying: death watch) completes the stream; the stream closing tells the agent's end.
/// </summary>
public sealed class SshConnectionEnd : ReceiveActor
{
    /// <summary>The local stream was closed (the step's client hung up, or the step ended).</summary>
    public sealed class LocalClose : INoSerializationVerificationNeeded
    {
        public static readonly LocalClose Instance = new();
    }

    private readonly string _connection;
    private readonly IActorRef _provider;
    private readonly ChannelWriter<byte[]> _incoming;
    private readonly TaskCompletionSource<IActorRef> _opened;
    private IActorRef? _agentEnd;
    private bool _agentEndKnowsClosed;

    public SshConnectionEnd(string connection, IActorRef provider, ChannelWriter<byte[]> incoming, TaskCompletionSource<IActorRef> opened)
    {
        _connection = connection;
        _provider = provider;
        _incoming = incoming;
        _opened = opened;
        Receive<SshConnectionOpened>(_ =>
        {
            _agentEnd = Sender;
            Context.Watch(Sender);
            _opened.TrySetResult(Sender);
        });
        Receive<SshConnectionData>(frame => _incoming.TryWrite(frame.Data.ToByteArray()));
        Receive<SshConnectionClosed>(closed =>
        {
            _agentEndKnowsClosed = true;
            var reason = closed.Error.Length > 0 ? closed.Error : "the ssh agent closed the connection";
            _opened.TrySetException(new IOException(reason));
            _incoming.TryComplete(); // the stream reads to the end, then sees it closed
            Context.Stop(Self);
        });
        Receive<Terminated>(_ =>
        {
            _agentEndKnowsClosed = true;
            Fail("the build's ssh agents are gone (the build ended, or the node that holds them left)");
        });
        Receive<LocalClose>(_ => Context.Stop(Self));
    }

    protected override void PreStart() => Context.Watch(_provider);

    private void Fail(string reason)
    {
        var error = new IOException(reason);
        _opened.TrySetException(error);
        _incoming.TryComplete(error);
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        if (!_agentEndKnowsClosed && _agentEnd is not null)
            _agentEnd.Tell(new SshConnectionClosed { Connection = _connection }, Self);
        _opened.TrySetException(new IOException("the ssh agent connection was closed before it opened"));
        _incoming.TryComplete();
    }

    public static Props Props(string connection, IActorRef provider, ChannelWriter<byte[]> incoming, TaskCompletionSource<IActorRef> opened) =>
        Akka.Actor.Props.Create(() => new SshConnectionEnd(connection, provider, incoming, opened));
}
