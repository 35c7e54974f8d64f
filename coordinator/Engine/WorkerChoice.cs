using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>Where a step goes: a worker with a free slot that can run the step's platform; one the step was lost on comes
/// last; then one that runs the platform natively over one that emulates it (QEMU is many times slower); then the one that holds
/// most of the step's input layers extracted (it starts without pulling and unpacking them); then the least loaded.</summary>
public static class WorkerChoice
{
    /// <summary>The index of the best of <paramref name="workers"/> for a step with <paramref name="inputs"/>, or -1 when
    /// none has a free slot.</summary>
    public static int Pick(IReadOnlyList<WorkerCandidate> workers, StepInputs? inputs, IReadOnlyCollection<string> avoid)
    {
        var wanted = InputLayers(inputs);
        var best = -1;
        (bool Avoided, PlatformFit Fit, int Held, double FreeShare, int Free, string Id) bestRank = default;
        for (var i = 0; i < workers.Count; i++)
        {
            var w = workers[i];
            if (w.Free <= 0 || w.Fit == PlatformFit.None) continue;
            var rank = (avoid.Contains(w.Id), w.Fit, wanted.Count(w.Layers.Contains), (double)w.Free / w.Slots, w.Free, w.Id);
            if (best < 0 || Better(rank, bestRank)) (best, bestRank) = (i, rank);
        }
        return best;
    }

    private static bool Better((bool Avoided, PlatformFit Fit, int Held, double FreeShare, int Free, string Id) a,
        (bool Avoided, PlatformFit Fit, int Held, double FreeShare, int Free, string Id) b)
    {
        if (a.Avoided != b.Avoided) return !a.Avoided;
        if (a.Fit != b.Fit) return a.Fit > b.Fit;
        if (a.Held != b.Held) return a.Held > b.Held;
        if (a.FreeShare != b.FreeShare) return a.FreeShare > b.FreeShare;
        if (a.Free != b.Free) return a.Free > b.Free;
        return string.CompareOrdinal(a.Id, b.Id) < 0; // the same inputs place the same way
    }

    /// <summary>The parent chain and the other stages' layers the step reads (COPY --from, RUN --mount=from=).</summary>
    private static HashSet<string> InputLayers(StepInputs? inputs)
    {
        var layers = new HashSet<string>(StringComparer.Ordinal);
        if (inputs is null) return layers;
        foreach (var layer in inputs.ParentLayers) if (layer.DiffId.Length > 0) layers.Add(layer.DiffId);
        foreach (var stage in inputs.Stages)
        foreach (var layer in stage.Layers)
            if (layer.DiffId.Length > 0) layers.Add(layer.DiffId);
        return layers;
    }
}
