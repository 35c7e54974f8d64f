namespace BuildFarm.Oci.Registry;

/// <summary>A response body that disposes its response with it, so a returned blob stream owns its connection.
/// A body that sends nothing for <paramref name="idleTimeout"/> fails with an <see cref="IOException"/> naming
/// <paramref name="source"/>: a registry that stalls mid-blob must not hang a base image pull.</summary>
internal sealed class ResponseStream(Stream body, HttpResponseMessage response, TimeSpan idleTimeout, string source) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException("response length unknown");
    public override long Position { get => throw new NotSupportedException("forward-only"); set => throw new NotSupportedException("forward-only"); }
    public override int Read(byte[] buffer, int offset, int count) => body.Read(buffer, offset, count); // callers read async
    public override int Read(Span<byte> buffer) => body.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(idleTimeout);
        try { return await body.ReadAsync(buffer, idle.Token); }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"{source} sent no data for {idleTimeout.TotalSeconds:0.#} s");
        }
    }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("forward-only");
    public override void SetLength(long value) => throw new NotSupportedException("read-only");
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("read-only");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            body.Dispose();
            response.Dispose();
        }
        base.Dispose(disposing);
    }
}
