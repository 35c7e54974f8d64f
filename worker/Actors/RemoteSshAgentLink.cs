using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.Actor;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Steps;

namespace BuildFarm.Worker.Actors;

/// <summary>
/// One step's way to its build's ssh agents on another host, over the cluster's own channel (Akka remoting, as the
/// step's secrets, logs and results travel): each connection is an <see cref="SshConnectionEnd"/> actor of this node
/// talking <see cref="SshConnectionData"/> frames with the build's <c>SshAgentProvider</c>. Disposing it (the step
/// ended) closes every connection still open.
/// </summary>
public sealed class RemoteSshAgentLink(ActorSystem system, string providerPath, string buildId, TimeSpan openTimeout)
    : ISshAgentLink, IDisposable
{
    private readonly ConcurrentDictionary<IActorRef, bool> _ends = new();
    private int _disposed;

    public async Task<Stream> ConnectAsync(string id, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var provider = ((ExtendedActorSystem)system).Provider.ResolveActorRef(providerPath);
        var connection = Guid.NewGuid().ToString("N");
        // Agent messages are a few KiB; the agent answers one request at a time, so what waits here stays small.
        var incoming = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var opened = new TaskCompletionSource<IActorRef>(TaskCreationOptions.RunContinuationsAsynchronously);
        var end = system.ActorOf(SshConnectionEnd.Props(connection, provider, incoming.Writer, opened));
        _ends[end] = true;
        provider.Tell(new SshConnectionOpen { BuildId = buildId, Id = id, Connection = connection }, end);
        IActorRef agentEnd;
        try
        {
            agentEnd = await opened.Task.WaitAsync(openTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            Close(end);
            throw new IOException($"the build's ssh agent \"{id}\" did not answer within {openTimeout.TotalSeconds:0} s (its coordinator may be gone)");
        }
        catch
        {
            Close(end);
            throw;
        }
        return new SshConnectionStream(connection, end, agentEnd, incoming.Reader, () => Close(end));
    }

    private void Close(IActorRef end)
    {
        if (_ends.TryRemove(end, out _)) end.Tell(SshConnectionEnd.LocalClose.Instance);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        foreach (var end in _ends.Keys) Close(end);
    }
}
