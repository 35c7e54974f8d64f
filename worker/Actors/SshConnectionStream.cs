using System.Threading.Channels;
using Akka.Actor;
using BuildFarm.Protos.Cluster;
using Google.Protobuf;

namespace BuildFarm.Worker.Actors;

/// <summary>
/// One forwarded ssh agent connection as a stream: reads are the agent's frames (0 once it closed), writes go to the
/// agent's end as frames of at most 16 KiB. Disposing closes the connection (both sides). Asynchronous use only.
/// </summary>
public sealed class SshConnectionStream(string connection, IActorRef end, IActorRef agentEnd, ChannelReader<byte[]> incoming, Action close)
    : Stream
{
    private const int ChunkBytes = 16 * 1024;
    private ReadOnlyMemory<byte> _pending;
    private int _closed;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return 0;
        while (_pending.IsEmpty)
        {
            if (Volatile.Read(ref _closed) == 1) return 0;
            try
            {
                if (!await incoming.WaitToReadAsync(cancellationToken)) return 0;
            }
            catch (ChannelClosedException e)
            {
                throw new IOException(e.InnerException?.Message ?? e.Message, e.InnerException);
            }
            if (incoming.TryRead(out var chunk)) _pending = chunk;
        }
        var count = Math.Min(buffer.Length, _pending.Length);
        _pending[..count].CopyTo(buffer);
        _pending = _pending[count..];
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _closed) == 1) throw new IOException("the ssh agent connection is closed");
        // Tells from one writer at a time keep their order on the way to the agent's end.
        while (!buffer.IsEmpty)
        {
            var chunk = buffer[..Math.Min(ChunkBytes, buffer.Length)];
            agentEnd.Tell(new SshConnectionData { Connection = connection, Data = ByteString.CopyFrom(chunk.Span) }, end);
            buffer = buffer[chunk.Length..];
        }
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public override void Flush() { }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _closed, 1) == 0) close();
        base.Dispose(disposing);
    }

    // synchronous use would block a thread on the cluster: not offered
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("write asynchronously");
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
