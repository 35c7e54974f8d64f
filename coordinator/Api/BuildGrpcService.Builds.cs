using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Coordinator.Api.Registry;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary>The calls on builds already started: Watch (replay and follow), Cancel, ListBuilds — each within the
/// caller's team (an admin token sees all); another team's build is NOT_FOUND (see <see cref="BuildRegistry"/>).</summary>
public sealed partial class BuildGrpcService
{
    /// <summary>The builds this coordinator runs and ran recently.</summary>
    public BuildRegistry Builds { get; init; } = new(TimeProvider.System, BuildRegistry.DefaultOrphanGrace);

    public override async Task Watch(WatchRequest request, IServerStreamWriter<BuildResponse> responseStream, ServerCallContext context)
    {
        var record = Builds.Find(request.BuildId, TokenInterceptor.CallerOf(context));
        using var subscription = record.Subscribe(request.FromStart);
        await responseStream.WriteAsync(new BuildResponse { Accepted = new BuildHandle { BuildId = record.Id, Team = record.Team } }, context.CancellationToken);
        await StreamEventsAsync(record, subscription, responseStream, context.CancellationToken);
    }

    public override Task<CancelResponse> Cancel(CancelRequest request, ServerCallContext context)
    {
        var record = Builds.Find(request.BuildId, TokenInterceptor.CallerOf(context));
        record.Cancel(request.Reason is { Length: > 0 } reason ? reason : "canceled by a Cancel call");
        return Task.FromResult(new CancelResponse { Build = record.Summary() });
    }

    public override Task<ListBuildsResponse> ListBuilds(ListBuildsRequest request, ServerCallContext context)
    {
        var response = new ListBuildsResponse();
        foreach (var record in Builds.List(TokenInterceptor.CallerOf(context))) response.Builds.Add(record.Summary());
        return Task.FromResult(response);
    }

    /// <summary>Writes a watcher's events, then the build's final Result or Error. gRPC allows one pending write per
    /// stream: the channel serializes events that come from actor threads.</summary>
    private static async Task StreamEventsAsync(BuildRecord record, BuildRecord.Subscription subscription,
        IServerStreamWriter<BuildResponse> responseStream, CancellationToken cancellationToken)
    {
        await foreach (var e in subscription.Events.ReadAllAsync(cancellationToken))
            await responseStream.WriteAsync(e, cancellationToken);
        await responseStream.WriteAsync(record.Final!, cancellationToken);
    }
}
