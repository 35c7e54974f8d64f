using Microsoft.Win32.SafeHandles;

namespace BuildFarm.Cache;

/// <summary>
/// Reads a blob while its <see cref="BlobIngest"/> writes it: up to what the writer has written, then waits for more;
/// ends when the writer commits, throws the writer's error when it fails. Not hashed again here: the writer hashes the
/// very bytes of this file and fails the ingest on a mismatch, which this reader sees before its end of stream.
/// </summary>
internal sealed class IngestReadStream(BlobIngest ingest, string finalPath) : Stream
{
    private SafeFileHandle? _file;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length == 0) return 0;
        while (true)
        {
            var next = ingest.NextProgress(); // before the state is read: a report in between still wakes us
            var written = ingest.Written;
            var done = ingest.Completion.IsCompleted;
            if (_file is null && !TryOpen(done))
            {
                if (done) await ingest.Completion; // failed before it wrote anything: its error
                await next.WaitAsync(cancellationToken);
                continue;
            }
            // Committed: the file is whole (opened from its final place when the temp name was gone already).
            if (done && ingest.Completion.IsCompletedSuccessfully) written = RandomAccess.GetLength(_file!);
            if (_position < written)
            {
                var n = RandomAccess.Read(_file!, buffer.Span[..(int)Math.Min(buffer.Length, written - _position)], _position);
                if (n == 0) throw new IOException($"blob {ingest.Digest} being written to the store ended early at {_position} of {written} bytes");
                _position += n;
                return n;
            }
            if (done)
            {
                await ingest.Completion; // the writer's error (a digest mismatch, a broken download) instead of an end
                return 0;
            }
            await next.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Opens the file being written, or the committed blob once the temp name is gone.</summary>
    private bool TryOpen(bool done)
    {
        var path = done && ingest.Completion.IsCompletedSuccessfully ? finalPath : ingest.TempPath;
        if (path is null) return false;
        try
        {
            _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false; // renamed into place or deleted meanwhile: the outcome follows at once
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var rented = new byte[buffer.Length];
        var n = ReadAsync(rented).AsTask().GetAwaiter().GetResult();
        rented.AsSpan(0, n).CopyTo(buffer);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _file?.Dispose();
        base.Dispose(disposing);
    }
}
