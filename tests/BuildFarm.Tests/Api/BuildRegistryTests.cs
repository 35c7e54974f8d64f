using BuildFarm.Coordinator.Api.Identity;
using BuildFarm.Coordinator.Api.Registry;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Protos.V1;
using Grpc.Core;
using State = BuildFarm.Protos.V1.BuildSummary.Types.State;

namespace BuildFarm.Tests.Api;

public sealed class BuildRegistryTests
{
    private static readonly Caller TeamA = new("team-a", false);
    private static readonly Caller TeamB = new("team-b", false);

    private static BuildResponse Log(string text) => new()
    {
        Progress = new ProgressEvent { Kind = ProgressEvent.Types.Kind.Log, StepId = "s", Log = Google.Protobuf.ByteString.CopyFromUtf8(text) },
    };

    private static BuildResponse Success(string digest) => new() { Result = new BuildResult { ManifestDigest = digest } };

    private static async Task<List<BuildResponse>> DrainAsync(BuildRecord.Subscription subscription)
    {
        var events = new List<BuildResponse>();
        await foreach (var e in subscription.Events.ReadAllAsync()) events.Add(e);
        return events;
    }

    [Fact]
    public void Another_team_s_build_is_not_found_as_an_unknown_id_is()
    {
        var registry = new BuildRegistry(TimeProvider.System, TimeSpan.FromMinutes(1));
        var record = registry.Register(new BuildTicket("b1", "team-b"), []);

        Assert.Same(record, registry.Find("b1", TeamB));
        var hidden = Assert.Throws<RpcException>(() => registry.Find("b1", TeamA));
        var unknown = Assert.Throws<RpcException>(() => registry.Find("b2", TeamA));
        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (hidden.StatusCode, unknown.StatusCode));
        Assert.Empty(registry.List(TeamA));
        Assert.Single(registry.List(new Caller("ops", true)));
    }

    [Fact]
    public async Task A_late_watcher_gets_the_events_so_far_then_the_new_ones_then_the_result()
    {
        var record = new BuildRecord("b", "a", [], DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        record.Running();
        record.Append(Log("early"));
        using var late = record.Subscribe(fromStart: true);
        using var now = record.Subscribe(fromStart: false);
        record.Append(Log("late"));
        record.Finish(Success("sha256:x"), DateTimeOffset.UtcNow);

        Assert.Equal(["early", "late"], (await DrainAsync(late)).Select(e => e.Progress.Log.ToStringUtf8()));
        Assert.Equal(["late"], (await DrainAsync(now)).Select(e => e.Progress.Log.ToStringUtf8()));
        Assert.Equal(("sha256:x", State.Succeeded), (record.Final!.Result.ManifestDigest, record.State));
    }

    [Fact]
    public async Task Beyond_the_bound_log_lines_are_counted_not_kept_and_the_replay_says_so()
    {
        var record = new BuildRecord("b", "a", [], DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        for (var i = 0; i < BuildRecord.MaxEvents + 5; i++) record.Append(Log("line " + i));
        record.Append(new BuildResponse { Progress = new ProgressEvent { Kind = ProgressEvent.Types.Kind.Completed, StepId = "s" } });
        record.Finish(Success("sha256:x"), DateTimeOffset.UtcNow);

        var replay = await DrainAsync(record.Subscribe(fromStart: true));

        Assert.Equal(BuildRecord.MaxEvents + 2, replay.Count);
        Assert.Equal(ProgressEvent.Types.Kind.Completed, replay[^2].Progress.Kind);
        Assert.Contains("5 log events of this build were not kept", replay[^1].Progress.Name);
    }

    [Fact]
    public async Task A_build_nobody_watches_for_the_grace_period_is_canceled()
    {
        var record = new BuildRecord("b", "a", [], DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(200));
        record.Running();
        record.Subscribe(fromStart: true).Dispose();

        await Task.Delay(TimeSpan.FromSeconds(30), record.Canceled).ContinueWith(_ => { }); // ends at the cancel

        Assert.True(record.Canceled.IsCancellationRequested);
        Assert.Equal("no client watched it for 0.2 s", record.CancelReason);
    }

    [Fact]
    public async Task A_watcher_that_re_attaches_within_the_grace_keeps_the_build_running()
    {
        var record = new BuildRecord("b", "a", [], DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(300));
        record.Running();
        record.Subscribe(fromStart: true).Dispose();
        using var back = record.Subscribe(fromStart: true);

        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.False(record.Canceled.IsCancellationRequested);
    }

    [Fact]
    public void A_team_at_its_queue_limit_is_refused_with_a_retry_after_while_other_teams_are_not()
    {
        var registry = new BuildRegistry(TimeProvider.System, TimeSpan.FromMinutes(1));
        registry.Register(new BuildTicket("a1", "team-a"), [], limit: 2);
        registry.Register(new BuildTicket("a2", "team-a"), [], limit: 2);

        var refused = Assert.Throws<RpcException>(() => registry.Register(new BuildTicket("a3", "team-a"), [], limit: 2));
        var asked = Assert.Throws<RpcException>(() => registry.EnsureRoom("team-a", 2));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, asked.StatusCode);
        Assert.Equal("5", refused.Trailers.GetValue(BuildRegistry.RetryAfterTrailer));
        Assert.Contains("team \"team-a\" has 2 builds queued or running, its limit is 2", refused.Status.Detail);
        Assert.Throws<RpcException>(() => registry.Find("a3", new Caller("ops", true)));
        registry.Register(new BuildTicket("b1", "team-b"), [], limit: 2);
    }

    [Fact]
    public void A_finished_build_frees_its_place_in_the_team_queue()
    {
        var registry = new BuildRegistry(TimeProvider.System, TimeSpan.FromMinutes(1));
        var first = registry.Register(new BuildTicket("a1", "team-a"), [], limit: 1);
        Assert.Throws<RpcException>(() => registry.EnsureRoom("team-a", 1));

        first.Finish(Success("sha256:" + new string('a', 64)), DateTimeOffset.UtcNow);

        registry.EnsureRoom("team-a", 1);
        registry.Register(new BuildTicket("a2", "team-a"), [], limit: 1);
    }
}
