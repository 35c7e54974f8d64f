using System.Text;
using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Oci;

namespace BuildFarm.Tests.Cache;

/// <summary>Fault injection (issue 17, item 2): a damaged step record is a miss that removes it, never a hit.</summary>
public sealed class StepRecordSealTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly LocalRecordStorage _storage;
    private readonly StepRecordIndex _index;
    private static readonly string Key = Digest.Compute("step"u8).ToString();
    private static string RecordName => $"records/sha256/{Key[7..]}.json";

    public StepRecordSealTests()
    {
        _storage = new LocalRecordStorage(_dir.Path);
        _index = new StepRecordIndex(_storage);
    }

    public void Dispose() => _dir.Dispose();

    private static StepRecord NewRecord(string key) => new()
    {
        Key = key,
        Layer = new Descriptor { MediaType = "application/vnd.oci.image.layer.v1.tar+gzip", Digest = Digest.Compute("layer"u8).ToString(), Size = 1234 },
        DiffId = Digest.Compute("diff"u8).ToString(),
        // what round-trips least obviously: escapes, non-ASCII, big and fractional numbers, nesting, nulls
        ConfigChanges = new JsonObject { ["Env"] = new JsonArray("A=\"quoted\" <tag> & é ✓", "B=\\back\nslash") },
        Inputs = JsonNode.Parse("""{"n":1.50,"big":12345678901234567890,"neg":-0.0,"nested":{"x":[null,true,"\u002b"]}}""")!.AsObject(),
        Created = DateTimeOffset.UtcNow,
        ParentKey = Digest.Compute("parent"u8).ToString(),
        StepIdentity = "Dockerfile#0#1",
    };

    private async Task RewriteStoredAsync(Func<string, string> change)
    {
        var text = Encoding.UTF8.GetString((await _storage.GetAsync(RecordName, CancellationToken.None))!);
        var changed = change(text);
        Assert.NotEqual(text, changed);
        await _storage.PutAsync(RecordName, Encoding.UTF8.GetBytes(changed), CancellationToken.None);
    }

    [Fact]
    public async Task Sealed_record_with_awkward_json_reads_back_as_a_hit()
    {
        var record = NewRecord(Key);
        await _index.PutAsync(record);

        var read = await _index.GetAsync(Key);

        Assert.NotNull(read);
        Assert.Equal(record.DiffId, read.DiffId);
        Assert.Equal(record.Inputs!.ToJsonString(), read.Inputs!.ToJsonString());
    }

    [Fact]
    public async Task Record_with_one_changed_diff_id_byte_is_a_miss_and_is_deleted()
    {
        var record = NewRecord(Key);
        await _index.PutAsync(record);
        var hex = record.DiffId![7..];
        var flipped = (hex[0] == 'a' ? 'b' : 'a') + hex[1..];
        await RewriteStoredAsync(text => text.Replace(hex, flipped, StringComparison.Ordinal));

        Assert.Null(await _index.GetAsync(Key));
        Assert.Null(await _storage.GetAsync(RecordName, CancellationToken.None));
        Assert.Empty(await _index.ListAsync().ToListAsync());
    }

    [Fact]
    public async Task Unparsable_record_is_a_miss_and_is_deleted()
    {
        await _index.PutAsync(NewRecord(Key));
        await RewriteStoredAsync(text => text[..^3]);

        Assert.Null(await _index.GetAsync(Key));
        Assert.Null(await _storage.GetAsync(RecordName, CancellationToken.None));
    }

    [Fact]
    public async Task Intact_record_of_another_key_stored_under_this_key_is_a_miss()
    {
        var other = Digest.Compute("other step"u8).ToString();
        await _index.PutAsync(NewRecord(other));
        var bytes = await _storage.GetAsync($"records/sha256/{other[7..]}.json", CancellationToken.None);
        await _storage.PutAsync(RecordName, bytes!, CancellationToken.None);

        Assert.Null(await _index.GetAsync(Key));
        Assert.NotNull(await _index.GetAsync(other));
    }

    [Fact]
    public async Task Record_without_a_seal_is_a_miss()
    {
        await _index.PutAsync(NewRecord(Key));
        await RewriteStoredAsync(text => System.Text.RegularExpressions.Regex.Replace(text, ",\"seal\":\"sha256:[0-9a-f]{64}\"", ""));

        Assert.Null(await _index.GetAsync(Key));
    }
}
