using System.Security.Cryptography;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Passes a source through while hashing it; with an expected digest and length it throws as soon as the
/// last expected byte has been read and the hash differs (or the source is longer or shorter), so an uploader that
/// reads part by part fails before it completes the object.</summary>
internal sealed class HashingReadStream(Stream inner, Digest? expected = null, long? length = null, string location = "") : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private Digest? _digest;

    public long BytesRead { get; private set; }

    /// <summary>The digest of everything read; valid once the source is exhausted.</summary>
    public Digest Digest => _digest ??= Digest.FromSha256Bytes(_hash.GetHashAndReset());

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length ?? throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Account(buffer[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Account(buffer.Span[..n]);
        return n;
    }

    private void Account(ReadOnlySpan<byte> data)
    {
        if (_digest is not null && data.Length > 0)
            throw new InvalidDataException($"content for {location} is longer than {length} bytes");
        _hash.AppendData(data);
        BytesRead += data.Length;
        if (length is { } len)
        {
            if (BytesRead > len) throw new InvalidDataException($"content for {location} is longer than {len} bytes");
            if (BytesRead == len) Check();
            else if (data.Length == 0)
                throw new InvalidDataException($"content for {location} ended after {BytesRead} of {len} bytes");
        }
        else if (data.Length == 0) Check();
    }

    private void Check()
    {
        if (_digest is not null) return;
        if (expected is { } e && Digest != e) throw new DigestMismatchException(e, Digest, location);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
