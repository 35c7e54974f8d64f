using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

public class WorkerChoiceTests
{
    private static StepInputs Parents(params string[] diffIds)
    {
        var inputs = new StepInputs();
        inputs.ParentLayers.AddRange(diffIds.Select(d => new LayerRef { DiffId = d }));
        return inputs;
    }

    private static WorkerCandidate Worker(string id, int slots, int busy, params string[] layers) =>
        new(id, slots, busy, new HashSet<string>(layers));

    [Fact]
    public void The_worker_holding_more_of_the_parent_layers_wins_over_a_less_loaded_one()
    {
        WorkerCandidate[] workers = [Worker("idle", 8, 0, "sha256:a"), Worker("holder", 2, 1, "sha256:a", "sha256:b")];

        Assert.Equal(1, WorkerChoice.Pick(workers, Parents("sha256:a", "sha256:b"), []));
    }

    [Fact]
    public void Among_workers_holding_as_much_the_least_loaded_wins()
    {
        WorkerCandidate[] workers = [Worker("busy", 4, 3, "sha256:a"), Worker("light", 4, 1, "sha256:a"), Worker("none", 4, 0)];

        Assert.Equal(1, WorkerChoice.Pick(workers, Parents("sha256:a"), []));
    }

    [Fact]
    public void Layers_of_another_stage_the_step_reads_count_too()
    {
        var inputs = Parents("sha256:base");
        inputs.Stages.Add(new StageLayers { Name = "build", Layers = { new LayerRef { DiffId = "sha256:artifacts" } } });
        WorkerCandidate[] workers = [Worker("base-only", 4, 0, "sha256:base"), Worker("both", 4, 0, "sha256:base", "sha256:artifacts")];

        Assert.Equal(1, WorkerChoice.Pick(workers, inputs, []));
    }

    [Fact]
    public void The_worker_the_step_was_lost_on_comes_last_even_when_it_holds_the_layers()
    {
        WorkerCandidate[] workers = [Worker("lost", 8, 0, "sha256:a"), Worker("other", 1, 0)];

        Assert.Equal(1, WorkerChoice.Pick(workers, Parents("sha256:a"), ["lost"]));
    }

    [Fact]
    public void A_worker_without_a_free_slot_is_never_chosen()
    {
        WorkerCandidate[] workers = [Worker("full", 2, 2, "sha256:a")];

        Assert.Equal(-1, WorkerChoice.Pick(workers, Parents("sha256:a"), []));
    }
}
