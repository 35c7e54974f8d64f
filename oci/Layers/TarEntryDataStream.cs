namespace BuildFarm.Oci.Layers;

/// <summary>A tar entry's data: at most its size from the archive stream, then end of stream.</summary>
internal sealed class TarEntryDataStream : Stream
{
    private readonly Stream _inner;
    private readonly long _length;

    public TarEntryDataStream(Stream inner, long length)
    {
        _inner = inner;
        _length = length;
        Remaining = length;
    }

    public long Remaining { get; set; }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _length - Remaining; set => throw new NotSupportedException("tar entry data is forward-only"); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (Remaining == 0 || buffer.Length == 0) return 0;
        var n = _inner.Read(buffer[..(int)Math.Min(buffer.Length, Remaining)]);
        if (n == 0) throw new InvalidDataException("tar ends inside an entry's data");
        Remaining -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Remaining == 0 || buffer.Length == 0) return 0;
        var n = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, Remaining)], cancellationToken);
        if (n == 0) throw new InvalidDataException("tar ends inside an entry's data");
        Remaining -= n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("tar entry data is forward-only");
    public override void SetLength(long value) => throw new NotSupportedException("tar entry data is read-only");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("tar entry data is read-only");
}
