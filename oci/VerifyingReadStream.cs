namespace BuildFarm.Oci;

/// <summary>
/// Reads a blob and checks, when the inner stream ends, that it had the expected size and digest; a mismatch
/// surfaces as <see cref="BlobDigestMismatchException"/> from the final read, so nobody consumes a bad blob silently.
/// It also refuses to read past the expected size.
/// </summary>
public sealed class VerifyingReadStream(Stream inner, Digest expected, long expectedSize = -1) : Stream
{
    private readonly HashingReadStream _hashing = new(inner);
    private bool _verified;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => expectedSize >= 0 ? expectedSize : throw new NotSupportedException("blob length unknown");
    public override long Position { get => _hashing.BytesRead; set => throw new NotSupportedException("blob stream is forward-only"); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = _hashing.Read(buffer);
        Check(n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _hashing.ReadAsync(buffer, cancellationToken);
        Check(n);
        return n;
    }

    private void Check(int read)
    {
        if (expectedSize >= 0 && _hashing.BytesRead > expectedSize)
            throw new BlobDigestMismatchException(expected, default, expectedSize, _hashing.BytesRead);
        if (read > 0 || _verified) return;
        _verified = true;
        var actual = _hashing.Digest;
        if (actual != expected || (expectedSize >= 0 && _hashing.BytesRead != expectedSize))
            throw new BlobDigestMismatchException(expected, actual, expectedSize, _hashing.BytesRead);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("blob stream is forward-only");
    public override void SetLength(long value) => throw new NotSupportedException("blob stream is read-only");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("blob stream is read-only");

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hashing.Dispose();
        base.Dispose(disposing);
    }
}
