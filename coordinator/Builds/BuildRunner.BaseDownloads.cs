using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Builds;

/// <summary>Base layers that download while the steps run (<see cref="Images.ResolvedImage.Downloaded"/>).</summary>
public sealed partial class BuildRunner
{
    /// <summary>The outcome of a build whose base failed to download (a digest mismatch, a broken registry), naming the
    /// image and the download's error; null when none failed (yet, unless <paramref name="waited"/>).</summary>
    private static BuildOutcome? BaseDownloadFailure(IReadOnlyList<PlatformBuild> targets, bool waited)
    {
        foreach (var image in targets.SelectMany(t => t.Resolved.Values).DistinctBy(r => r.ManifestDigest))
        {
            if (!image.Downloaded.IsCompleted || image.Downloaded.IsCompletedSuccessfully) continue;
            if (image.Downloaded.IsCanceled) return waited ? Canceled() : null;
            var error = image.Downloaded.Exception!.InnerExceptions[0];
            if (error is OperationCanceledException) return waited ? Canceled() : null;
            return new BuildOutcome
            {
                ErrorClass = error is HttpRequestException or TimeoutException ? ErrorClass.Unavailable : ErrorClass.UserError,
                Error = $"failed to pull base image {image.Reference}: {error.Message}",
            };
        }
        return null;

        static BuildOutcome Canceled() => new() { Canceled = true, Error = "canceled", ErrorClass = ErrorClass.Canceled };
    }
}
