using System.Security.Cryptography;

namespace BuildFarm.Oci;

/// <summary>A read-only pass-through that sha256-hashes and counts every byte read from the inner stream.</summary>
public sealed class HashingReadStream(Stream inner, bool leaveOpen = false) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private Digest? _digest;

    public long BytesRead { get; private set; }

    /// <summary>The digest of everything read so far; reading afterwards is an error.</summary>
    public Digest Digest => _digest ??= Digest.FromSha256Bytes(_hash.GetHashAndReset());

    /// <summary>Reads the rest of the inner stream (hashing it) and returns the digest of the whole.</summary>
    public async Task<Digest> DrainAsync(CancellationToken cancellationToken = default)
    {
        var buffer = new byte[64 * 1024];
        while (await ReadAsync(buffer, cancellationToken) > 0) { }
        return Digest;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException("hashing stream has no length");
    public override long Position { get => BytesRead; set => throw new NotSupportedException("hashing stream is forward-only"); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Append(buffer[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Append(buffer.Span[..n]);
        return n;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0) return;
        if (_digest is not null) throw new InvalidOperationException("hashing stream was read after its digest was taken");
        _hash.AppendData(data);
        BytesRead += data.Length;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("hashing stream is forward-only");
    public override void SetLength(long value) => throw new NotSupportedException("hashing stream is read-only");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("hashing stream is read-only");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!leaveOpen) inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
