using System.Text;
using BuildFarm.Coordinator.CacheIo;

namespace BuildFarm.Tests.CacheIo;

public sealed class CacheConfigTests
{
    private const string Blob = "sha256:3b2fb0468727ceab9d0991fa541e38d940e5ff042745879bbe852b08810c496b";

    private static CacheConfig Parse(string json) => CacheConfig.Parse(Encoding.UTF8.GetBytes(json), "cache /c");

    [Fact]
    public void Reads_BuildKit_fields_it_does_not_use_without_error()
    {
        // The shape BuildKit 0.13 writes: parent -1 for a bottom layer, selectors on inputs, records without results.
        var config = Parse($$"""
            {"layers":[{"blob":"{{Blob}}","parent":-1}],
             "records":[{"layers":[{"layer":0,"createdAt":"2026-12-05T05:25:20.231867901Z"}],"digest":"{{Blob}}"},
                        {"digest":"{{Blob}}","inputs":[[{"selector":"sha256:8a5e","link":0}]]},
                        {"digest":"{{Blob}}","chains":[{"layers":[0]}]}]}
            """);
        Assert.Equal(-1, config.Layers![0].Parent);
        Assert.Null(config.Records![0].FarmRecord);
        Assert.Equal(0, config.Records[1].Inputs![0][0].Link);
    }

    [Theory]
    [InlineData("""{"layers":[{"blob":"nope"}]}""", "layer 0 has blob 'nope', which is not a digest")]
    [InlineData("""{"layers":[{"blob":"BLOB","parent":3}]}""", "layer 0 has parent 3, outside the 1 layers")]
    [InlineData("""{"records":[{"layers":[{"layer":2}]}]}""", "record 0 names layer 2, outside the 0 layers")]
    [InlineData("""{"records":[{"inputs":[[{"link":5}]]}]}""", "record 0 links record 5, outside the 1 records")]
    [InlineData("""{"layers":""", "the cache config is not valid JSON")]
    public void Damaged_config_is_refused_naming_the_part(string json, string expected)
    {
        var error = Assert.Throws<InvalidCacheException>(() => Parse(json.Replace("BLOB", Blob)));
        Assert.StartsWith("cache /c: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Bottom_layer_is_written_with_parent_minus_one_and_layer_zero_parent_is_omitted_as_BuildKit_does()
    {
        var json = Encoding.UTF8.GetString(new CacheConfig
        {
            Layers = [new CacheConfigLayer { Blob = Blob, Parent = -1 }, new CacheConfigLayer { Blob = Blob, Parent = 0 }],
        }.ToJson());
        Assert.Contains($"{{\"blob\":\"{Blob}\",\"parent\":-1}}", json);
        Assert.Contains($"{{\"blob\":\"{Blob}\"}}", json);
    }
}
