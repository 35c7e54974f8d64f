using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;

namespace BuildFarm.Oci.Layers;

/// <summary>
/// Reads a stream on its own task into a few bounded chunks (hashing what it reads), so that decompression and the
/// diff id's sha256 run beside the tar extraction instead of in turn: the unpack's critical path is only writing files.
/// Nothing touches the disk in between (at most <see cref="Depth"/> × <see cref="ChunkSize"/> bytes in memory).
/// </summary>
internal sealed class ReadAheadStream : Stream
{
    public const int ChunkSize = 1024 * 1024;
    public const int Depth = 4;

    private readonly Channel<(byte[] Buffer, int Length)> _chunks =
        Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(Depth) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private readonly Task<Digest> _producer;
    private readonly LayerApplyStats? _stats;
    private byte[]? _current;
    private int _offset, _length;

    /// <param name="source">Read to its end on another task, then disposed.</param>
    public ReadAheadStream(Stream source, CancellationToken cancellationToken, LayerApplyStats? stats = null)
    {
        _stats = stats;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _producer = Task.Run(() => ProduceAsync(source, _stop.Token), CancellationToken.None);
    }

    /// <summary>The sha256 of the whole source, once it has been read to its end (faults as the read faulted).</summary>
    public Task<Digest> Digest => _producer;

    private async Task<Digest> ProduceAsync(Stream source, CancellationToken cancellationToken)
    {
        try
        {
            await using (source)
            await using (var hashing = new HashingReadStream(source, leaveOpen: true))
            {
                while (true)
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                    var started = Stopwatch.GetTimestamp();
                    var n = await hashing.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken);
                    if (_stats is not null) _stats.Decompressing += Stopwatch.GetElapsedTime(started);
                    if (n == 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        break;
                    }
                    if (!_chunks.Writer.TryWrite((buffer, n)))
                    {
                        started = Stopwatch.GetTimestamp();
                        await _chunks.Writer.WriteAsync((buffer, n), cancellationToken);
                        if (_stats is not null) _stats.WaitedForExtraction += Stopwatch.GetElapsedTime(started);
                    }
                }
                _chunks.Writer.TryComplete();
                return hashing.Digest;
            }
        }
        catch (Exception e)
        {
            _chunks.Writer.TryComplete(e);
            throw;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.Length == 0) return 0;
        if (_current is null || _offset == _length)
        {
            Release();
            if (!_chunks.Reader.TryRead(out var chunk))
            {
                var started = Stopwatch.GetTimestamp();
                if (!await _chunks.Reader.WaitToReadAsync(cancellationToken)) return 0; // rethrows the producer's error
                chunk = await _chunks.Reader.ReadAsync(cancellationToken);
                if (_stats is not null) _stats.WaitedForData += Stopwatch.GetElapsedTime(started);
            }
            (_current, _offset, _length) = (chunk.Buffer, 0, chunk.Length);
        }
        var n = Math.Min(destination.Length, _length - _offset);
        _current.AsMemory(_offset, n).CopyTo(destination);
        _offset += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    private void Release()
    {
        if (_current is not null) ArrayPool<byte>.Shared.Return(_current);
        _current = null;
    }

    public override async ValueTask DisposeAsync()
    {
        // A reader that stops early (an error in the tar) must not leave the producer blocked on a full channel.
        await _stop.CancelAsync();
        _chunks.Reader.TryRead(out _);
        try { await _producer; }
        catch (Exception) { } // already seen by the reader, or canceled by us
        Release();
        while (_chunks.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
        _stop.Dispose();
        await base.DisposeAsync();
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
