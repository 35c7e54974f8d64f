using System.Security.Cryptography;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Reads a blob and checks, when its last byte has been read, that the bytes hash to the expected digest.
/// A mismatch runs <c>onCorrupt</c> (the store removes the blob) and throws <see cref="BlobCorruptedException"/>.
/// A stream that ends short of the expected length is a transport failure (IOException), not corruption.</summary>
internal sealed class VerifyingReadStream(
    Stream inner, Digest expected, long length, string location,
    Func<CancellationToken, Task> onCorrupt, IDisposable? owner = null, TimeSpan? idleTimeout = null) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _verified;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(Span<byte> buffer)
    {
        var rented = new byte[buffer.Length];
        var n = Read(rented, 0, rented.Length);
        rented.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_verified) return 0;
        var n = await ReadInnerAsync(buffer, cancellationToken);
        if (n > 0)
        {
            _hash.AppendData(buffer.Span[..n]);
            _read += n;
            if (_read > length) await FailCorruptAsync(cancellationToken);
        }
        // Verify at the expected length, not only at EOF, so that a reader that stops after `length` bytes is checked too.
        if (_read == length || n == 0) await VerifyAsync(cancellationToken);
        return n;
    }

    // A server that stops sending mid-body must not hang the reader: each read gets the idle timeout.
    private async ValueTask<int> ReadInnerAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (idleTimeout is not { } timeout) return await inner.ReadAsync(buffer, cancellationToken);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(timeout);
        try { return await inner.ReadAsync(buffer, idle.Token); }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"reading {expected} from {location}: no data for {timeout.TotalSeconds:0.#} s");
        }
    }

    private async Task VerifyAsync(CancellationToken cancellationToken)
    {
        if (_read < length)
            throw new IOException($"blob {expected} from {location} ended after {_read} of {length} bytes");
        var actual = Digest.FromSha256Bytes(_hash.GetHashAndReset());
        if (actual != expected) await FailCorruptAsync(cancellationToken, actual);
        _verified = true;
    }

    private async Task FailCorruptAsync(CancellationToken cancellationToken, Digest? actual = null)
    {
        await onCorrupt(cancellationToken);
        throw new BlobCorruptedException(expected, actual ?? Digest.FromSha256Bytes(_hash.GetHashAndReset()), location);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner?.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        owner?.Dispose();
        _hash.Dispose();
        await base.DisposeAsync();
    }
}
