using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>Step records over any <see cref="IRecordStorage"/> (local folder or S3), laid out as
/// <c>records/sha256/&lt;hex&gt;.json</c>; last use is an empty marker <c>used/sha256/&lt;hex&gt;</c> whose
/// modification time is the last-used time (one tiny PUT, no read-modify-write); miss-explanation candidates are found
/// through empty index entries <c>index/parent/&lt;parent hex&gt;/&lt;hex&gt;</c> and <c>index/step/&lt;sha256(step)&gt;/&lt;hex&gt;</c>.</summary>
public sealed class StepRecordIndex(IRecordStorage storage, TimeSpan? touchInterval = null) : IStepRecordIndex
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly ConcurrentDictionary<string, DateTimeOffset> _touched = new();
    private readonly TimeSpan _touchInterval = touchInterval ?? TimeSpan.FromMinutes(1);

    public string Location => storage.Location;

    private static Digest ParseKey(string key) =>
        Digest.TryParse(key, out var d) ? d : throw new ArgumentException($"invalid cache key '{key}': expected sha256:<64 hex>");

    private static string RecordName(Digest key) => $"{StoreLayout.Records}{key.Algorithm}/{key.Hex}.json";
    private static string UsedName(Digest key) => $"{StoreLayout.Used}{key.Algorithm}/{key.Hex}";
    private static string ParentPrefix(string parentKey) => $"{StoreLayout.ByParent}{Sha256Hex(parentKey)}/";
    private static string StepPrefix(string step) => $"{StoreLayout.ByStep}{Sha256Hex(step)}/";

    // Hashing keeps arbitrary strings (manifest digests, step names) safe as one path segment.
    private static string Sha256Hex(string value) => Digest.Compute(Encoding.UTF8.GetBytes(value)).Hex;

    public async Task<StepRecord?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var digest = ParseKey(key);
        var bytes = await storage.GetAsync(RecordName(digest), cancellationToken);
        if (bytes is null) return null;
        StepRecord? record;
        try { record = JsonSerializer.Deserialize<StepRecord>(bytes, Json); }
        catch (JsonException) { record = null; }
        if (record is { Seal: null } && record.Key == key) return null; // written before seals: a miss, the re-run rewrites it sealed
        if (record is not null && record.Key == key && StepRecordSeal.IsIntact(record)) return record;
        // Damaged (unparsable, seal mismatch, or another key's record): a miss, and the record goes so that no later
        // lookup trusts it. Deleting a good record a concurrent writer just put costs one re-run, nothing more.
        await DeleteRecordAsync(digest, record, cancellationToken);
        return null;
    }

    public async Task PutAsync(StepRecord record, CancellationToken cancellationToken = default)
    {
        var key = ParseKey(record.Key);
        if (record.Created == default) record = record with { Created = DateTimeOffset.UtcNow };
        // Index entries first: an entry without its record is skipped on lookup, a record without entries is not findable.
        if (record.ParentKey is { Length: > 0 } parent)
            await storage.PutAsync(ParentPrefix(parent) + key.Hex, ReadOnlyMemory<byte>.Empty, cancellationToken);
        if (record.StepIdentity is { Length: > 0 } step)
            await storage.PutAsync(StepPrefix(step) + key.Hex, ReadOnlyMemory<byte>.Empty, cancellationToken);
        await storage.PutAsync(RecordName(key), JsonSerializer.SerializeToUtf8Bytes(StepRecordSeal.Sealed(record), Json), cancellationToken);
        await storage.PutAsync(UsedName(key), ReadOnlyMemory<byte>.Empty, cancellationToken);
        _touched[record.Key] = DateTimeOffset.UtcNow;
    }

    public async Task TouchAsync(string key, CancellationToken cancellationToken = default)
    {
        var digest = ParseKey(key);
        var now = DateTimeOffset.UtcNow;
        if (_touched.TryGetValue(key, out var last) && now - last < _touchInterval) return;
        await storage.PutAsync(UsedName(digest), ReadOnlyMemory<byte>.Empty, cancellationToken);
        _touched[key] = now;
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var digest = ParseKey(key);
        var bytes = await storage.GetAsync(RecordName(digest), cancellationToken);
        StepRecord? record = null;
        try { if (bytes is not null) record = JsonSerializer.Deserialize<StepRecord>(bytes, Json); }
        catch (JsonException) { } // damaged: its index entries cannot be named, lookups skip them
        await DeleteRecordAsync(digest, record, cancellationToken);
    }

    private async Task DeleteRecordAsync(Digest digest, StepRecord? record, CancellationToken cancellationToken)
    {
        var key = digest.ToString();
        await storage.DeleteAsync(RecordName(digest), cancellationToken);
        await storage.DeleteAsync(UsedName(digest), cancellationToken);
        if (record?.ParentKey is { Length: > 0 } parent) await storage.DeleteAsync(ParentPrefix(parent) + digest.Hex, cancellationToken);
        if (record?.StepIdentity is { Length: > 0 } step) await storage.DeleteAsync(StepPrefix(step) + digest.Hex, cancellationToken);
        _touched.TryRemove(key, out _);
    }

    public async IAsyncEnumerable<StepRecordEntry> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var used = new Dictionary<string, DateTimeOffset>();
        foreach (var marker in await storage.ListAsync(StoreLayout.Used, cancellationToken))
            used[marker.Name[StoreLayout.Used.Length..]] = marker.LastModified;
        foreach (var obj in await storage.ListAsync(StoreLayout.Records, cancellationToken))
        {
            if (!obj.Name.EndsWith(".json", StringComparison.Ordinal)) continue;
            var id = obj.Name[StoreLayout.Records.Length..^".json".Length];
            var bytes = await storage.GetAsync(obj.Name, cancellationToken);
            if (bytes is null) continue; // deleted while listing
            StepRecord? record;
            try { record = JsonSerializer.Deserialize<StepRecord>(bytes, Json); }
            catch (JsonException) { continue; }
            if (record is null) continue;
            var lastUsed = used.TryGetValue(id, out var u) && u > obj.LastModified ? u : obj.LastModified;
            yield return new StepRecordEntry(record, lastUsed, obj.Size);
        }
    }

    public async Task<IReadOnlyList<StepRecord>> FindCandidatesAsync(string? parentKey, string? stepIdentity, int max = 10, CancellationToken cancellationToken = default)
    {
        // Index markers are written with their record, so their times order the history: read only the newest few
        // records instead of one GET per record the step ever had.
        var markers = new Dictionary<string, DateTimeOffset>();
        void Collect(IEnumerable<StoredObject> objects)
        {
            foreach (var o in objects)
            {
                var hex = o.Name[(o.Name.LastIndexOf('/') + 1)..];
                if (!markers.TryGetValue(hex, out var seen) || o.LastModified > seen) markers[hex] = o.LastModified;
            }
        }
        if (parentKey is { Length: > 0 }) Collect(await storage.ListAsync(ParentPrefix(parentKey), cancellationToken));
        if (stepIdentity is { Length: > 0 }) Collect(await storage.ListAsync(StepPrefix(stepIdentity), cancellationToken));
        var records = new List<StepRecord>();
        foreach (var hex in markers.OrderByDescending(m => m.Value).Take(max * 2).Select(m => m.Key))
            if (await GetAsync($"{Digest.Sha256Algorithm}:{hex}", cancellationToken) is { } r) records.Add(r);
        return records.OrderByDescending(r => r.Created).Take(max).ToList();
    }
}
