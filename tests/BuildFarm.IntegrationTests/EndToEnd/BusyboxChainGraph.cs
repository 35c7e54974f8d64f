using BuildFarm.Coordinator.Planning;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>Step graphs the engine tests hand straight to the engine: scratch + ADD rootfs.tar, then RUNs in a row.</summary>
public static class BusyboxChainGraph
{
    /// <summary>The key the planner would give <paramref name="instruction"/> on top of <paramref name="parent"/>
    /// ("scratch" or a step key).</summary>
    public static string Key(string parent, string instruction) => new CacheKeyInputs
    {
        Platform = "linux/amd64",
        Parent = parent == "scratch" ? CacheKeyParent.Scratch : CacheKeyParent.Step(parent),
        Instruction = instruction,
    }.ComputeKey();

    /// <summary>The key of the graph's ADD step (the same in every graph, so builds share it).</summary>
    public static string AddKey => Key("scratch", "ADD rootfs.tar /");

    /// <summary>Node 0 is the base, node 1 the ADD (keyed <paramref name="addKey"/>), then one node per run: (display
    /// name, instruction the key covers, shell command).</summary>
    public static BuildGraph Of(string addKey, params (string Name, string Instruction, string Command)[] runs)
    {
        var graph = new BuildGraph
        {
            FinalNode = runs.Length + 1,
            Nodes =
            {
                new GraphNode { Index = 0, IsBase = true, Parent = -1 },
                new GraphNode
                {
                    Index = 1, Parent = 0, DisplayName = "ADD", Location = "Dockerfile:2",
                    Definition = new StepDefinition { CacheKey = addKey, Add = new AddOp { Copy = new CopyOp { Sources = { "rootfs.tar" }, Destination = "/" }, Unpack = true } },
                },
            },
        };
        var parent = addKey;
        for (var i = 0; i < runs.Length; i++)
        {
            parent = Key(parent, runs[i].Instruction);
            graph.Nodes.Add(new GraphNode
            {
                Index = i + 2, Parent = i + 1, DisplayName = runs[i].Name, Location = $"Dockerfile:{i + 3}",
                Definition = new StepDefinition { CacheKey = parent, Run = new RunOp { Args = { runs[i].Command } } },
            });
        }
        return graph;
    }
}
