using System.Security.Cryptography;

namespace BuildFarm.Oci;

/// <summary>
/// A write-only stream that sha256-hashes and counts what passes through, forwarding it to an inner stream
/// (or discarding it when there is none). The inner stream is not disposed.
/// </summary>
public sealed class HashingWriteStream(Stream? inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private Digest? _digest;

    public long BytesWritten { get; private set; }

    /// <summary>The digest of everything written; writing afterwards is an error.</summary>
    public Digest Digest => _digest ??= Digest.FromSha256Bytes(_hash.GetHashAndReset());

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => BytesWritten;
    public override long Position { get => BytesWritten; set => throw new NotSupportedException("hashing stream is append-only"); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Append(buffer);
        inner?.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Append(buffer.Span);
        if (inner is not null) await inner.WriteAsync(buffer, cancellationToken);
    }

    private void Append(ReadOnlySpan<byte> buffer)
    {
        if (_digest is not null) throw new InvalidOperationException("hashing stream was written after its digest was taken");
        _hash.AppendData(buffer);
        BytesWritten += buffer.Length;
    }

    public override void Flush() => inner?.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => inner?.FlushAsync(cancellationToken) ?? Task.CompletedTask;
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("hashing stream is write-only");
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("hashing stream is append-only");
    public override void SetLength(long value) => throw new NotSupportedException("hashing stream is append-only");

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
