using System.Security.Cryptography;
using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The context half of a Build call: which files the client must upload (the store lacks them, or the client answers
/// no challenge), and a proof of possession — HMAC-SHA256 keyed by a per-build nonce — for those the store already
/// has. Knowing a digest is not enough to read a blob — unless <paramref name="callerOwnsStore"/>: a resident engine's
/// socket (0600) lets in only the user whose store it is, who may read every blob anyway, so the challenge (an HMAC of
/// every context file on both sides, per build) would cost time and prove nothing.
/// </summary>
public sealed class ContextReceiver(IContentStore store, string scratch, bool callerOwnsStore = false)
{
    /// <summary>
    /// Asks for the blobs the store lacks and challenges the client for the ones it has: a build may read a blob only
    /// when its own manifest names it and it either uploaded it in this call or proved it holds the bytes. Returns
    /// those digests.
    /// </summary>
    public async Task<HashSet<string>> ReceiveAsync(ContextManifest manifest, IAsyncStreamReader<BuildRequest> requests,
        IServerStreamWriter<BuildResponse> responses, CancellationToken cancellationToken)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        var present = new Dictionary<string, string>(StringComparer.Ordinal); // digest -> first path naming it
        // the named contexts' files (--build-context folders and layouts) are asked for, proved and stored like the context's
        foreach (var entry in AllEntries(manifest).Where(e => e.Sha256.Length > 0))
        {
            if (!Digest.TryParse(entry.Sha256, out var digest))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{entry.Path}: invalid digest {entry.Sha256}"));
            if (missing.Contains(entry.Sha256) || present.ContainsKey(entry.Sha256)) continue;
            // A client that cannot answer a challenge (older than the challenge) proves possession by uploading.
            if (manifest.AnswersChallenges && await store.ExistsAsync(digest, cancellationToken)) present[entry.Sha256] = entry.Path;
            else missing.Add(entry.Sha256);
        }
        Uploaded = missing.Count;
        if (callerOwnsStore)
        {
            await responses.WriteAsync(new BuildResponse { Missing = new MissingFiles { Digests = { missing.Order(StringComparer.Ordinal) } } }, cancellationToken);
            HashSet<string> owned = [.. missing, .. present.Keys];
            await ReceiveFilesAsync(requests, missing, cancellationToken); // takes each digest out of missing as it arrives
            return owned;
        }
        var nonce = present.Count > 0 ? RandomNumberGenerator.GetBytes(PossessionProof.NonceSize) : [];
        await responses.WriteAsync(new BuildResponse
        {
            Missing = new MissingFiles
            {
                Digests = { missing.Order(StringComparer.Ordinal) },
                ChallengeNonce = ByteString.CopyFrom(nonce),
                Prove = { present.Keys.Order(StringComparer.Ordinal) },
            },
        }, cancellationToken);
        var servable = new HashSet<string>(missing, StringComparer.Ordinal);
        await ReceiveFilesAsync(requests, missing, cancellationToken);
        if (present.Count == 0) return servable;

        if (!await requests.MoveNext(cancellationToken) || requests.Current.MessageCase != BuildRequest.MessageOneofCase.Proofs)
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"context file {present.First().Value}: the server has its content; prove you hold it (this client sent no possession proofs)"));
        var claimed = new Dictionary<string, ByteString>(StringComparer.Ordinal);
        foreach (var proof in requests.Current.Proofs.Proofs) claimed.TryAdd(proof.Digest, proof.HmacSha256);
        foreach (var (digest, path) in present.OrderBy(p => p.Value, StringComparer.Ordinal))
            if (!claimed.ContainsKey(digest))
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"context file {path}: no proof of possession for {digest}"));
        // Each check reads the blob from the store (a GET on S3): a few at a time, not one after another.
        var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(present, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (pair, token) =>
            {
                await using var blob = await store.OpenAsync(Digest.Parse(pair.Key), token);
                if (!PossessionProof.Matches(await PossessionProof.ComputeAsync(blob, nonce, token), claimed[pair.Key].Span))
                    wrong.Add(pair.Value);
            });
        if (wrong.Order(StringComparer.Ordinal).FirstOrDefault() is { } failed)
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"context file {failed}: wrong proof of possession"));
        servable.UnionWith(present.Keys);
        return servable;
    }

    /// <summary>The main context's entries, then every named context's.</summary>
    public static IEnumerable<ContextEntry> AllEntries(ContextManifest manifest) =>
        manifest.Entries.Concat(manifest.NamedContexts.SelectMany(n => n.Entries));

    /// <summary>How many digests the last <see cref="ReceiveAsync"/> asked the client to upload.</summary>
    public int Uploaded { get; private set; }

    internal static async Task<BuildRequest?> NextAsync(IAsyncStreamReader<BuildRequest> requests, BuildRequest.MessageOneofCase expected, CancellationToken cancellationToken)
    {
        if (!await requests.MoveNext(cancellationToken)) return null;
        return requests.Current.MessageCase == expected
            ? requests.Current
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"expected {expected}, got {requests.Current.MessageCase}"));
    }

    private async Task ReceiveFilesAsync(IAsyncStreamReader<BuildRequest> requests, HashSet<string> missing, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(scratch);
        FileStream? current = null;
        string? currentDigest = null;
        var spool = Path.Combine(scratch, "upload-" + Guid.NewGuid().ToString("N")[..12]);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            while (missing.Count > 0)
            {
                var chunk = (await NextAsync(requests, BuildRequest.MessageOneofCase.File, cancellationToken))?.File
                            ?? throw new RpcException(new Status(StatusCode.InvalidArgument, $"the client hung up with {missing.Count} files not sent"));
                if (currentDigest != chunk.Digest)
                {
                    if (current is not null) throw new RpcException(new Status(StatusCode.InvalidArgument, $"file {currentDigest} ended without last=true"));
                    if (!missing.Contains(chunk.Digest)) throw new RpcException(new Status(StatusCode.InvalidArgument, $"file {chunk.Digest} was not asked for"));
                    current = File.Create(spool);
                    currentDigest = chunk.Digest;
                }
                await current!.WriteAsync(chunk.Data.Memory, cancellationToken);
                sha.AppendData(chunk.Data.Span);
                if (!chunk.Last) continue;
                // Checked here, not only by PutAsync: a put of a blob that appeared meanwhile (another build's upload)
                // reads nothing, and an upload is this build's proof that it holds the content.
                var actual = Digest.FromSha256Bytes(sha.GetHashAndReset());
                if (actual.ToString() != chunk.Digest)
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"file {chunk.Digest}: the bytes sent hash to {actual}"));
                current.Position = 0;
                await store.PutAsync(current, Digest.Parse(chunk.Digest), cancellationToken);
                await current.DisposeAsync();
                current = null;
                missing.Remove(chunk.Digest);
                currentDigest = null;
            }
        }
        finally
        {
            if (current is not null) await current.DisposeAsync();
            File.Delete(spool);
        }
    }
}
