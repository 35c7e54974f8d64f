using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// Runs one build on behalf of non-actor code (the CLI or a gRPC stream) on the node that took the call: sends the
/// <see cref="StartBuild"/>, forwards the build's progress and its end to a channel, and keeps the build going when its
/// entity is lost. It death-watches the entity that accepted the build; when that entity dies before the build ended
/// (its node was downed, or its shard moved on a graceful leave) it sends the StartBuild again, marked resumed: the new
/// entity rebuilds from the step records and joins the runs still going. A StartBuild nobody accepted is sent again
/// every fifth of <see cref="EngineTimings.BuildReaskInterval"/> (the first one after a loss often meets a shard whose
/// dead home is not yet removed, and is lost). A cancel that no entity confirms within that interval ends the
/// build here, so a canceled build always ends.
/// </summary>
public sealed class BuildWatcher : ReceiveActor, IWithTimers
{
    /// <summary>From the caller: stop the build (its client went away or canceled).</summary>
    public sealed record Cancel(string Reason) : INoSerializationVerificationNeeded;

    private sealed record CheckAccepted : INoSerializationVerificationNeeded;
    private sealed record CancelOverdue : INoSerializationVerificationNeeded;

    private readonly StartBuild _start;
    private readonly IActorRef _builds;
    private readonly ChannelWriter<object> _events;
    private readonly EngineTimings _timings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef? _entity;
    private DateTime _sentAt;
    private bool _finished;
    private string? _canceled;

    public ITimerScheduler Timers { get; set; } = null!;

    public BuildWatcher(StartBuild start, IActorRef builds, ChannelWriter<object> events, EngineTimings timings)
    {
        _start = start;
        _builds = builds;
        _events = events;
        _timings = timings;

        Receive<BuildAccepted>(_ => Track(Sender));
        Receive<BuildProgress>(p =>
        {
            Track(Sender);
            if (!_finished) _events.TryWrite(p);
        });
        Receive<BuildFinished>(End);
        Receive<Terminated>(t =>
        {
            if (_finished || !t.ActorRef.Equals(_entity)) return;
            _entity = null;
            if (_canceled is not null)
            {
                End(new BuildFinished { BuildId = _start.BuildId, Success = false, Canceled = true, ErrorClass = ErrorClass.Canceled, Error = _canceled });
                return;
            }
            _log.Warning("build {0}: its entity at {1} was lost; starting it again from the step records", _start.BuildId, t.ActorRef.Path.Address);
            Send(resumed: true);
        });
        Receive<CheckAccepted>(_ =>
        {
            if (_finished || _entity is not null || DateTime.UtcNow - _sentAt < CheckInterval) return;
            _log.Info("build {0}: no coordinator accepted it yet; sending it again", _start.BuildId);
            Send(resumed: true);
        });
        Receive<Cancel>(c =>
        {
            if (_finished || _canceled is not null) return;
            _canceled = c.Reason;
            _builds.Tell(new CancelBuildCommand { BuildId = _start.BuildId, Reason = c.Reason });
            Timers.StartSingleTimer(nameof(CancelOverdue), new CancelOverdue(), _timings.BuildReaskInterval);
        });
        Receive<CancelOverdue>(_ =>
        {
            if (_finished) return;
            End(new BuildFinished
            {
                BuildId = _start.BuildId, Success = false, Canceled = true, ErrorClass = ErrorClass.Canceled,
                Error = $"{_canceled} (no coordinator confirmed the cancel within {_timings.BuildReaskInterval.TotalSeconds:0} s)",
            });
        });
    }

    public static Props Props(StartBuild start, IActorRef builds, ChannelWriter<object> events, EngineTimings timings) =>
        Akka.Actor.Props.Create(() => new BuildWatcher(start, builds, events, timings));

    protected override void PreStart()
    {
        Send(resumed: false);
        Timers.StartPeriodicTimer(nameof(CheckAccepted), new CheckAccepted(), CheckInterval);
    }

    private TimeSpan CheckInterval =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _timings.BuildReaskInterval.Ticks / 5));

    private void Send(bool resumed)
    {
        _sentAt = DateTime.UtcNow;
        _builds.Tell(resumed ? new StartBuild(_start) { Resumed = true } : _start);
    }

    private void Track(IActorRef entity)
    {
        if (_finished || entity.Equals(_entity) || entity.IsNobody()) return;
        if (_entity is not null) Context.Unwatch(_entity);
        _entity = entity;
        Context.Watch(entity);
    }

    private void End(BuildFinished finished)
    {
        if (_finished) return;
        _finished = true;
        Timers.CancelAll();
        if (_entity is not null) Context.Unwatch(_entity);
        _events.TryWrite(finished);
    }
}
