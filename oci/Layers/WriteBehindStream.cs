using System.Buffers;
using System.Threading.Channels;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// The write side of <see cref="ReadAheadStream"/>: bytes written here are handed in a few bounded chunks to a task of
/// its own that writes them into the inner stream, so the diff id's sha256, compression and the blob digest run beside
/// the tar writer (the walk and the file reads) instead of in turn. The inner stream sees the same bytes in the same
/// order (a layer's blob does not change); it is not disposed. Call <see cref="CompleteAsync"/> once everything is
/// written: it waits for the inner writes and rethrows their error. At most <see cref="Depth"/> × <see cref="ChunkSize"/>
/// bytes wait in memory.
/// </summary>
internal sealed class WriteBehindStream : Stream
{
    public const int ChunkSize = 256 * 1024;
    public const int Depth = 4;

    private readonly Channel<(byte[] Buffer, int Length)> _chunks =
        Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(Depth) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private readonly Task _consumer;
    private byte[]? _current;
    private int _filled;
    private long _written;
    private bool _completed;
    private bool _released;

    public WriteBehindStream(Stream inner, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _consumer = Task.Run(() => ConsumeAsync(inner, _stop.Token), CancellationToken.None);
    }

    private async Task ConsumeAsync(Stream inner, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (buffer, length) in _chunks.Reader.ReadAllAsync(cancellationToken))
            {
                try { await inner.WriteAsync(buffer.AsMemory(0, length), cancellationToken); }
                finally { ArrayPool<byte>.Shared.Return(buffer); }
            }
        }
        catch (Exception e)
        {
            // the writer's next chunk fails at once instead of waiting on a full channel nobody reads
            _chunks.Writer.TryComplete(e);
            throw;
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = Fill(buffer);
            buffer = buffer[n..];
            if (_filled == ChunkSize) SendAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var n = Fill(buffer.Span);
            buffer = buffer[n..];
            if (_filled == ChunkSize) await SendAsync(cancellationToken);
        }
    }

    private int Fill(ReadOnlySpan<byte> buffer)
    {
        if (_completed) throw new InvalidOperationException("write-behind stream was written after it was completed");
        _current ??= ArrayPool<byte>.Shared.Rent(ChunkSize);
        var n = Math.Min(buffer.Length, ChunkSize - _filled);
        buffer[..n].CopyTo(_current.AsSpan(_filled));
        _filled += n;
        _written += n;
        return n;
    }

    private async ValueTask SendAsync(CancellationToken cancellationToken)
    {
        if (_current is null || _filled == 0) return;
        var chunk = (_current, _filled);
        (_current, _filled) = (null, 0);
        try
        {
            await _chunks.Writer.WriteAsync(chunk, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            ArrayPool<byte>.Shared.Return(chunk.Item1);
            await _consumer; // the inner stream's own error
            throw;
        }
    }

    /// <summary>Sends what is left and waits until the inner stream has been written everything.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await SendAsync(cancellationToken);
        _completed = true;
        _chunks.Writer.TryComplete();
        await _consumer.WaitAsync(cancellationToken);
    }

    /// <summary>Hands the partial chunk over (no wait for the inner stream: that is <see cref="CompleteAsync"/>).</summary>
    public override void Flush() => SendAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => SendAsync(cancellationToken).AsTask();

    public override async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) ReleaseAsync().AsTask().GetAwaiter().GetResult();
        base.Dispose(disposing);
    }

    private async ValueTask ReleaseAsync()
    {
        if (_released) return;
        _released = true;
        // Not completed (the tar writer failed): stop the consumer rather than let it write a partial layer on.
        if (!_completed) await _stop.CancelAsync();
        _chunks.Writer.TryComplete();
        try { await _consumer; }
        catch (Exception) { } // seen by CompleteAsync or a write, or canceled by us
        if (_current is not null) ArrayPool<byte>.Shared.Return(_current);
        _current = null;
        while (_chunks.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
        _stop.Dispose();
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _written;
    public override long Position { get => _written; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
