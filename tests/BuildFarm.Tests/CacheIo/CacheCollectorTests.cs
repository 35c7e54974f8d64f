using BuildFarm.Cache;
using BuildFarm.Coordinator.CacheIo;
using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.CacheIo;

/// <summary>The cache config of a multi-platform build: every platform's graph in one config, as BuildKit exports it.</summary>
public sealed class CacheCollectorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-collector-").FullName;
    private readonly StepRecordIndex _records;

    public CacheCollectorTests() => _records = new StepRecordIndex(new LocalRecordStorage(_dir));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private Task PutAsync(char key, char layer) => _records.PutAsync(new StepRecord
    {
        Key = Digest(key),
        Layer = new Descriptor { MediaType = MediaTypes.OciLayerGzip, Digest = Digest(layer), Size = 10 },
        DiffId = Digest(layer),
    });

    /// <summary>scratch, then a chain of steps with these keys; the last is the target.</summary>
    private static BuildGraph Chain(params char[] keys)
    {
        var graph = new BuildGraph { Nodes = { new GraphNode { Index = 0, IsBase = true, Parent = -1 } } };
        for (var i = 0; i < keys.Length; i++)
            graph.Nodes.Add(new GraphNode { Index = i + 1, Parent = i, Definition = new StepDefinition { CacheKey = Digest(keys[i]) } });
        graph.FinalNode = keys.Length;
        return graph;
    }

    [Fact]
    public async Task Every_platform_graph_goes_into_one_config_with_a_shared_step_once()
    {
        // amd64: a → b; arm64: a → c (a is a step both platforms share, as a FROM --platform=$BUILDPLATFORM stage's)
        await PutAsync('a', '1');
        await PutAsync('b', '2');
        await PutAsync('c', '3');

        var collected = await new CacheCollector(_records).CollectAsync([Chain('a', 'b'), Chain('a', 'c')], max: false, CancellationToken.None);

        var records = collected.Config.Records!;
        Assert.Equal([Digest('a'), Digest('b'), Digest('c')], records.Select(r => r.Digest).ToList());
        // both platforms' second steps link the one shared record, and their layers sit on its layer
        Assert.Equal(0, records[1].Inputs![0][0].Link);
        Assert.Equal(0, records[2].Inputs![0][0].Link);
        var layers = collected.Config.Layers!;
        Assert.Equal([Digest('1'), Digest('2'), Digest('3')], layers.Select(l => l.Blob).ToList());
        Assert.Equal(0, layers[records[2].Results![0].Layer].Parent);
        Assert.Equal(3, collected.Layers.Count);
    }
}
