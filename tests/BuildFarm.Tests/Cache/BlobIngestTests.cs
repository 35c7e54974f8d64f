using System.IO.Pipelines;
using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.Tests.Cache;

/// <summary>A blob announced to a local store is readable while its put writes it (a base layer unpacked while it downloads).</summary>
public sealed class BlobIngestTests : IDisposable
{
    // Guards against a hang only; no test waits on it when the behaviour is right.
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();
    private readonly LocalContentStore _store;

    public BlobIngestTests() => _store = new LocalContentStore(_dir.Sub("store"));

    public void Dispose() => _dir.Dispose();

    private static byte[] Bytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public async Task Announced_blob_is_read_while_its_put_still_writes_it()
    {
        var bytes = Bytes(3 << 20, 1);
        var digest = Digest.Compute(bytes);
        var (_, owner) = _store.Announce(digest);
        Assert.True(owner);
        var source = new Pipe();
        var put = _store.PutAsync(source.Reader.AsStream(), digest);
        await source.Writer.WriteAsync(bytes.AsMemory(0, 2 << 20));

        await using var reader = await _store.OpenAsync(digest);
        var head = new byte[2 << 20];
        await reader.ReadExactlyAsync(head).AsTask().WaitAsync(Hang);
        Assert.Equal(bytes.AsSpan(0, 2 << 20).ToArray(), head);
        Assert.False(put.IsCompleted); // the source has not even ended: these bytes came from the write in progress

        await source.Writer.WriteAsync(bytes.AsMemory(2 << 20));
        await source.Writer.CompleteAsync();
        using var tail = new MemoryStream();
        await reader.CopyToAsync(tail).WaitAsync(Hang);
        Assert.Equal(bytes.AsSpan(2 << 20).ToArray(), tail.ToArray());
        Assert.Equal(digest, await put.WaitAsync(Hang));
        Assert.True(await _store.ExistsAsync(digest));
    }

    [Fact]
    public async Task Reader_of_an_announced_blob_gets_the_puts_digest_mismatch_and_nothing_is_stored()
    {
        var expected = Bytes(2 << 20, 2);
        var digest = Digest.Compute(expected);
        _store.Announce(digest);
        var served = (byte[])expected.Clone();
        served[1_000_000] ^= 0xff; // what a corrupted mirror would send under that digest
        var source = new Pipe();
        var put = _store.PutAsync(source.Reader.AsStream(), digest);
        await using var reader = await _store.OpenAsync(digest);
        var read = reader.CopyToAsync(Stream.Null);
        await source.Writer.WriteAsync(served);
        await source.Writer.CompleteAsync();

        await Assert.ThrowsAsync<DigestMismatchException>(() => put.WaitAsync(Hang));
        var e = await Assert.ThrowsAsync<DigestMismatchException>(() => read.WaitAsync(Hang));
        Assert.Equal(digest, e.Expected);
        Assert.False(await _store.ExistsAsync(digest));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => _store.OpenAsync(digest)); // the failed ingest is forgotten
        Assert.Empty(Directory.EnumerateFiles(_store.IngestDirectory));
    }

    [Fact]
    public async Task Announced_blob_whose_download_never_starts_fails_its_readers_with_the_cause()
    {
        var digest = Digest.Compute("never sent"u8);
        var (ingest, _) = _store.Announce(digest);
        await using var reader = await _store.OpenAsync(digest);
        var read = reader.CopyToAsync(Stream.Null);
        ingest.Fail(new HttpRequestException("registry unreachable"));

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => read.WaitAsync(Hang));
        Assert.Contains("unreachable", e.Message);
    }

    [Fact]
    public void Second_announcer_of_a_blob_shares_the_first_ones_ingest()
    {
        var digest = Digest.Compute("shared layer"u8);
        var (first, firstOwns) = _store.Announce(digest);
        var (second, secondOwns) = _store.Announce(digest);
        Assert.True(firstOwns);
        Assert.False(secondOwns);
        Assert.Same(first, second);
    }
}
