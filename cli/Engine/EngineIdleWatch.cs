using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Api.Identity;

namespace BuildFarm.Cli.Engine;

/// <summary>
/// Ends a resident engine once nothing used it for <c>--idle-timeout</c>: no call in progress, no build running (a
/// build whose client went away still runs: it counts), and no call began or ended within the period.
/// </summary>
public sealed class EngineIdleWatch(EngineActivity activity, BuildGrpcService? builds, TimeSpan timeout)
{
    /// <summary>Completes when the engine has been idle for the timeout; canceled with <paramref name="cancellationToken"/>.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 4, 100, 5000));
        using var timer = new PeriodicTimer(tick);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (activity.Idle >= timeout && !BuildsRunning()) return;
        }
    }

    private bool BuildsRunning() => builds is not null && builds.Builds.List(Caller.Open).Any(b => b.Ended is null);
}
