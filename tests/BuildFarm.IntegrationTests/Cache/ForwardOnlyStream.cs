namespace BuildFarm.IntegrationTests.Cache;

/// <summary>A source like a network body: unseekable, unknown length; optionally fails after <c>failAfter</c> bytes
/// (a writer that dies mid-upload) by throwing or by cancelling the writer's token.</summary>
public sealed class ForwardOnlyStream(byte[] data, long failAfter = -1, CancellationTokenSource? cancelInstead = null) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (failAfter >= 0 && _position >= failAfter)
        {
            if (cancelInstead is null) throw new IOException("writer died mid-upload");
            cancelInstead.Cancel();
            cancelInstead.Token.ThrowIfCancellationRequested();
        }
        var limit = failAfter >= 0 ? Math.Min(data.Length, failAfter) : data.Length;
        var n = (int)Math.Min(Math.Min(buffer.Length, 64 * 1024), limit - _position);
        if (n <= 0) return 0;
        data.AsSpan((int)_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
