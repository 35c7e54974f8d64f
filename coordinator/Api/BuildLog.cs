using BuildFarm.Protos.V1;
using Microsoft.Extensions.Logging;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// The structured log of one served build's lifecycle: accepted (team, tags), each step's cache hit or miss and its
/// end, and how it ended (finished, failed, canceled). Every entry is written inside a scope carrying <c>BuildId</c> and
/// <c>Team</c>: progress arrives on actor threads, where an ambient scope of the call would not flow.
/// </summary>
public sealed class BuildLog(ILogger logger, string buildId, string team)
{
    private readonly Dictionary<string, object> _scope = new(StringComparer.Ordinal) { ["BuildId"] = buildId, ["Team"] = team };

    public void Accepted(IReadOnlyList<string> tags, int contextFiles)
    {
        using var _ = logger.BeginScope(_scope);
        logger.LogInformation("build accepted for team {Team}: {Tags}, {ContextFiles} context files", team.Length > 0 ? team : "(none)",
            tags.Count > 0 ? string.Join(", ", tags) : "(no tags)", contextFiles);
    }

    /// <summary>The context is here: how many files (those of --build-context folders and layouts among them) and how many
    /// blobs the client had to upload (an unchanged context uploads none).</summary>
    public void ContextReceived(int files, int namedContextFiles, int uploaded)
    {
        using var _ = logger.BeginScope(_scope);
        logger.LogInformation("build context received: {ContextFiles} files ({NamedContextFiles} of named contexts), {UploadedBlobs} blobs uploaded",
            files, namedContextFiles, uploaded);
    }

    /// <summary>A build whose context is a folder of this host read in place: nothing uploaded, nothing published.</summary>
    public void ContextInPlace(string root)
    {
        using var _ = logger.BeginScope(_scope);
        logger.LogInformation("build context read in place: {ContextRoot} (0 files uploaded)", root);
    }

    public void Refused(string reason)
    {
        using var _ = logger.BeginScope(_scope);
        logger.LogWarning("build refused: {Reason}", reason);
    }

    public void Progress(ProgressEvent e)
    {
        using var _ = logger.BeginScope(_scope);
        switch (e.Kind)
        {
            case ProgressEvent.Types.Kind.Cached:
                logger.LogInformation("step cache hit: {Step} ({StepKey})", e.Name, e.StepId);
                break;
            case ProgressEvent.Types.Kind.CacheMiss:
                logger.LogInformation("step cache miss: {Step} ({StepKey}): {Why}", e.Name, e.StepId, e.CacheMiss);
                break;
            case ProgressEvent.Types.Kind.Completed:
                logger.LogInformation("step done: {Step} ({StepKey}) in {Seconds:0.###} s", e.Name, e.StepId,
                    e.CompletedUnixMs > 0 && e.StartedUnixMs > 0 ? (e.CompletedUnixMs - e.StartedUnixMs) / 1000.0 : 0);
                break;
            case ProgressEvent.Types.Kind.Failed:
                logger.LogWarning("step failed: {Step} ({StepKey}): {Error}", e.Name, e.StepId, e.Error);
                break;
            case ProgressEvent.Types.Kind.Info:
                logger.LogInformation("{Info}", e.Name);
                break;
        }
    }

    public void Ended(BuildResponse final)
    {
        using var _ = logger.BeginScope(_scope);
        if (final.Result is { } result)
            logger.LogInformation("build finished: {ManifestDigest}, {StepsExecuted} steps executed, {StepsCached} cached",
                result.ManifestDigest, result.StepsExecuted, result.StepsCached);
        else if (final.Error is { ErrorClass: "canceled" } canceled)
            logger.LogInformation("build cancelled: {Reason}", canceled.Message);
        else if (final.Error is { } error)
            logger.LogWarning("build failed ({ErrorClass}): {Error}", error.ErrorClass, error.Message);
    }
}
