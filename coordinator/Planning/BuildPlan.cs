namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// The step DAG of one build: steps in topological order (every step after its parent and dependencies), the stages
/// (pruned ones listed without steps), and the parallel levels. Keys are filled by <see cref="ComputeKeysAsync"/>.
/// </summary>
public sealed class BuildPlan
{
    private readonly Dictionary<string, PlannedStep> _byId;
    private readonly Dictionary<string, int> _levelById;

    public BuildPlan(IReadOnlyList<PlannedStage> stages, IReadOnlyList<PlannedStep> steps, int targetStageIndex)
    {
        Stages = stages;
        Steps = steps;
        TargetStageIndex = targetStageIndex;
        _byId = steps.ToDictionary(s => s.Id, StringComparer.Ordinal);
        _levelById = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            var level = 0;
            foreach (var dep in Dependencies(step))
            {
                if (!_levelById.TryGetValue(dep, out var depLevel))
                    throw new ArgumentException($"step {step.Id} depends on {dep}, which does not come before it", nameof(steps));
                level = Math.Max(level, depLevel + 1);
            }
            _levelById[step.Id] = level;
        }
        Levels = steps.GroupBy(s => _levelById[s.Id]).OrderBy(g => g.Key).Select(g => (IReadOnlyList<PlannedStep>)g.ToList()).ToList();
    }

    public IReadOnlyList<PlannedStage> Stages { get; }

    /// <summary>Only the steps the target needs, in topological order.</summary>
    public IReadOnlyList<PlannedStep> Steps { get; }

    public int TargetStageIndex { get; }

    /// <summary>The target's args, secrets and ssh ids, for --call=outline.</summary>
    public PlanOutline Outline { get; init; } = PlanOutline.Empty;

    public PlannedStage Target => Stages[TargetStageIndex];

    /// <summary>The step whose result is the image.</summary>
    public PlannedStep FinalStep => _byId[Target.StepIds[^1]];

    /// <summary>Steps grouped by depth: every step of level n depends only on steps of lower levels, so a level runs in parallel.</summary>
    public IReadOnlyList<IReadOnlyList<PlannedStep>> Levels { get; }

    /// <summary>Images the plan needs a manifest digest for (FROM images and COPY --from / mount images), distinct, in order.</summary>
    public IReadOnlyList<string> ExternalImages =>
        Steps.SelectMany(s => (s.BaseImage is null ? [] : new[] { s.BaseImage })
                .Concat(s.Sources.Where(src => src.Kind == StepSourceKind.Image).Select(src => src.Reference)))
            .Distinct(StringComparer.Ordinal)
            .ToList();

    /// <summary>Like <see cref="ExternalImages"/>, with the platform each is needed for (a stage's FROM --platform, or the target's).</summary>
    public IReadOnlyList<(string Reference, string Platform)> ExternalImagesByPlatform =>
        Steps.SelectMany(s => (s.BaseImage is null ? [] : new[] { (s.BaseImage, s.Platform) })
                .Concat(s.Sources.Where(src => src.Kind == StepSourceKind.Image).Select(src => (src.Reference, s.Platform))))
            .Distinct()
            .ToList();

    public PlannedStep GetStep(string id) =>
        _byId.TryGetValue(id, out var step) ? step : throw new KeyNotFoundException($"no step {id} in the plan");

    public int LevelOf(string stepId) => _levelById[stepId];

    /// <summary>The parent and the extra dependencies of a step.</summary>
    public static IEnumerable<string> Dependencies(PlannedStep step)
    {
        if (step.ParentId is not null)
            yield return step.ParentId;
        foreach (var dep in step.DependsOn)
            yield return dep;
    }

    /// <summary>
    /// Fills every step's cache key, in topological order, once base images and context files can be resolved:
    /// FROM gets the base's manifest digest (or the scratch constant, or the base stage's key), COPY/ADD the checksum of
    /// their selected context files, --from sources the key of the source stage or the image digest.
    /// </summary>
    public async Task<PlanKeys> ComputeKeysAsync(IPlanInputResolver resolver, CancellationToken cancellationToken = default)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        var inputs = new Dictionary<string, CacheKeyInputs>(StringComparer.Ordinal);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        var gitCommits = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

        async Task<string> DigestOf(string image, string platform)
        {
            var cacheKey = platform + " " + image;
            if (!digests.TryGetValue(cacheKey, out var digest))
            {
                digest = await resolver.ResolveImageDigestAsync(image, platform, cancellationToken);
                digests[cacheKey] = digest;
            }
            return digest;
        }

        foreach (var step in Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            CacheKeyParent parent;
            if (step.ParentId is not null)
                parent = CacheKeyParent.Step(keys[step.ParentId]);
            else if (step.IsScratch)
                parent = CacheKeyParent.Scratch;
            else if (step.BaseImage is not null)
                parent = CacheKeyParent.BaseImage(await DigestOf(step.BaseImage, step.Platform));
            else
                throw new InvalidOperationException($"step {step.Id} has neither a parent nor a base");

            string? checksum = null;
            if (step.ContextSelections.Count > 0)
            {
                var sums = new List<string>();
                foreach (var selection in step.ContextSelections)
                    sums.Add(await resolver.ComputeContextChecksumAsync(selection, cancellationToken));
                checksum = sums.Count == 1 ? sums[0] : ContentChecksum.Combine(sums);
            }
            if (step.Expanded is Dockerfile.Instructions.AddInstruction add && add.SourcePaths.Any(GitSource.IsGit))
            {
                // The commit is the content of a git source: a moved ref changes the key, an unchanged one keeps it.
                var commits = new Dictionary<string, string>(StringComparer.Ordinal);
                var sums = checksum is null ? new List<string>() : [checksum];
                foreach (var text in add.SourcePaths.Where(GitSource.IsGit))
                {
                    try
                    {
                        var commit = await resolver.ResolveGitCommitAsync(GitSource.Parse(text), cancellationToken);
                        commits[text] = commit;
                        sums.Add("git:" + commit);
                    }
                    catch (Exception e) when (e is GitSourceException or FormatException)
                    {
                        throw new Dockerfile.DockerfileException(e.Message).At(step.Location);
                    }
                }
                gitCommits[step.Id] = commits;
                checksum = sums.Count == 1 ? sums[0] : ContentChecksum.Combine(sums);
            }

            var sources = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var source in step.Sources)
            {
                sources[source.Reference] = source.Kind == StepSourceKind.Stage
                    ? keys[source.StepId!]
                    : await DigestOf(source.Reference, step.Platform);
            }

            var stepInputs = new CacheKeyInputs
            {
                Platform = step.Platform,
                Parent = parent,
                Instruction = step.Instruction,
                Flags = step.Flags,
                BuildArgs = step.BuildArgs,
                Env = step.Env,
                ContentChecksum = checksum,
                SourceStages = sources,
                Mounts = step.Mounts,
            };
            inputs[step.Id] = stepInputs;
            keys[step.Id] = stepInputs.ComputeKey();
        }
        return new PlanKeys(keys, inputs) { GitCommits = gitCommits };
    }
}
