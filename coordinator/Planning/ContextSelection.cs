namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// Which build-context files a step reads: COPY/ADD sources (paths relative to the context, may hold wildcards) minus
/// its --exclude patterns, or the source of a RUN bind mount without from=. Its checksum is only known once the
/// context manifest is; see <see cref="IPlanInputResolver"/>.
/// </summary>
public sealed record ContextSelection(IReadOnlyList<string> Sources, IReadOnlyList<string> Excludes, bool KeepParents = false)
{
    public override string ToString() => string.Join(" ", Sources) + (Excludes.Count > 0 ? " --exclude=" + string.Join(",", Excludes) : "");
}
