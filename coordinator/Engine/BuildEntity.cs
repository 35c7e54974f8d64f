using Akka.Actor;
using Akka.Cluster.Sharding;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using Google.Protobuf;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// One entity per build id: walks the build's step graph, asks the step entities for each step whose
/// inputs are ready (so independent stages run at the same time), and streams progress to the watcher.
/// A step it has heard nothing of for <see cref="EngineTimings.BuildReaskInterval"/> is asked for again (the step
/// entity joins the request idempotently, or a new one starts if the old one was lost), so no build hangs on a lost
/// entity; a step entity handed over to another node says so and is asked again at once. A watcher that dies cancels
/// the build. Each StartBuild is answered with <see cref="BuildAccepted"/>, so the watcher can death-watch this entity
/// and start the build again (resumed: from the step records, joining the runs still going) when it is lost.
/// </summary>
public sealed class BuildEntity : ReceiveActor, IWithTimers
{
    private sealed record CheckSilentSteps : INoSerializationVerificationNeeded;

    private readonly string _buildId;
    private readonly IActorRef _steps;
    private readonly EngineTimings _timings;
    private readonly Dictionary<string, RequestStep> _requests = [];
    private readonly Dictionary<string, DateTime> _lastHeard = [];
    private readonly Dictionary<string, DateTime> _lastAsked = [];
    private readonly Dictionary<int, GraphNode> _nodes = [];
    private readonly Dictionary<int, NodeOutcome> _done = [];
    private readonly Dictionary<int, List<LayerRef>> _layers = [];
    private readonly Dictionary<string, List<int>> _inFlight = [];
    private readonly Dictionary<int, long> _startedAt = [];
    private readonly HashSet<int> _needed = [];
    private IActorRef _watcher = ActorRefs.Nobody;
    private StartBuild _start = new();
    // A resumed build's steps may be running already, dispatched by an entity that was lost: its requests say so.
    private bool _resumed;
    private BuildGraph _graph = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public BuildEntity(string buildId, IActorRef steps, EngineTimings timings)
    {
        _buildId = buildId;
        _steps = steps;
        _timings = timings;
        Become(WaitingForStart);
    }

    public static Props Props(string buildId, IActorRef steps, EngineTimings timings) =>
        Akka.Actor.Props.Create(() => new BuildEntity(buildId, steps, timings));

    private void WaitingForStart()
    {
        Receive<StartBuild>(start =>
        {
            _watcher = Sender;
            Context.Watch(_watcher);
            _watcher.Tell(new BuildAccepted { BuildId = _buildId });
            _start = start;
            _resumed = start.Resumed;
            _graph = start.Graph;
            foreach (var node in _graph.Nodes) _nodes[node.Index] = node;
            if (!_nodes.ContainsKey(_graph.FinalNode))
            {
                Finish(new BuildFinished { Success = false, ErrorClass = ErrorClass.Internal, Error = $"the build graph has no node {_graph.FinalNode}" });
                return;
            }
            MarkNeeded(_graph.FinalNode);
            Timers.StartPeriodicTimer(nameof(CheckSilentSteps), new CheckSilentSteps(), ReaskCheckInterval);
            Become(Walking);
            Advance();
        });
        Receive<CancelBuildCommand>(_ =>
        {
            // Canceled before it started here (e.g. this entity was rebuilt): the one who asked hears the end.
            _watcher = Sender;
            Finish(new BuildFinished { Success = false, Canceled = true, ErrorClass = ErrorClass.Canceled, Error = "canceled" });
        });
    }

    private void Walking()
    {
        Receive<StartBuild>(_ =>
        {
            // The watcher lost track of this entity (or a new one took over): it listens from now on.
            if (!Sender.Equals(_watcher))
            {
                Context.Unwatch(_watcher);
                _watcher = Sender;
                Context.Watch(_watcher);
            }
            _watcher.Tell(new BuildAccepted { BuildId = _buildId });
        });
        Receive<StepHandedOff>(h =>
        {
            // The step's entity moves with its shard: ask its next incarnation now rather than after a silence.
            if (!_requests.TryGetValue(h.CacheKey, out var request)) return;
            _lastHeard[h.CacheKey] = Now;
            _steps.Tell(Reasked(request));
        });
        Receive<StepStarted>(s =>
        {
            Heard(s.CacheKey);
            foreach (var index in NodesOf(s.CacheKey))
            {
                // A re-asked step tells its start again: say it once per start.
                if (_startedAt.TryGetValue(index, out var known) && known == s.StartedUnixMs) continue;
                _startedAt[index] = s.StartedUnixMs;
                Emit(index, ProgressEvent.Types.Kind.Started, e =>
                {
                    e.StartedUnixMs = s.StartedUnixMs;
                    e.QueuedUnixMs = s.QueuedUnixMs;
                });
            }
        });
        Receive<StepHeartbeat>(h => Heard(h.CacheKey));
        Receive<StepMissExplained>(m =>
        {
            Heard(m.CacheKey);
            foreach (var index in NodesOf(m.CacheKey))
                Emit(index, ProgressEvent.Types.Kind.CacheMiss, e =>
                {
                    e.CacheMiss = m.Explanation;
                    e.CacheMissInputs.AddRange(m.ChangedInputs);
                });
        });
        Receive<StepLog>(l =>
        {
            Heard(l.CacheKey);
            foreach (var index in NodesOf(l.CacheKey))
                Emit(index, ProgressEvent.Types.Kind.Log, e => { e.Log = l.Data; e.Stream = l.Stream; });
        });
        Receive<StepCompleted>(c =>
        {
            if (!TakeInFlight(c.Result.CacheKey, out var indexes)) return;
            foreach (var index in indexes)
            {
                _done[index] = new NodeOutcome { Index = index, Result = c.Result, Cached = c.Cached };
                var layers = new List<LayerRef>(LayersOf(_nodes[index].Parent));
                if (c.Result.Layer is { } layer && !c.Result.EmptyLayer) layers.Add(layer);
                _layers[index] = layers;
                Emit(index, c.Cached ? ProgressEvent.Types.Kind.Cached : ProgressEvent.Types.Kind.Completed, e =>
                {
                    e.StartedUnixMs = c.Cached ? 0 : c.Result.StartedUnixMs;
                    e.CompletedUnixMs = c.Cached ? 0 : c.Result.CompletedUnixMs;
                }, c.Result.EmptyLayer ? null : c.Result.Layer);
            }
            Advance();
        });
        Receive<StepFailed>(f =>
        {
            if (!TakeInFlight(f.CacheKey, out var indexes)) return;
            var node = _nodes[indexes[0]];
            Emit(node.Index, ProgressEvent.Types.Kind.Failed, e => e.Error = f.Message);
            WithdrawAll();
            var finished = new BuildFinished
            {
                Success = false,
                Error = f.Message,
                ErrorLocation = node.Location,
                ErrorInstruction = node.DisplayName,
                ExitCode = f.ExitCode,
                ErrorClass = f.ErrorClass,
            };
            finished.LogTail.AddRange(f.LogTail);
            Finish(finished);
        });
        Receive<CancelBuildCommand>(c =>
        {
            WithdrawAll();
            Finish(new BuildFinished
            {
                Success = false, Canceled = true, ErrorClass = ErrorClass.Canceled,
                Error = string.IsNullOrEmpty(c.Reason) ? "canceled" : c.Reason,
            });
        });
        Receive<CheckSilentSteps>(_ =>
        {
            var now = Now;
            foreach (var (key, request) in _requests)
            {
                // Silent for the interval: ask again, and keep asking every fifth of it until the step is heard of
                // (a re-ask sent while the entity's dead node is not yet removed is lost).
                if (now - _lastHeard[key] < _timings.BuildReaskInterval) continue;
                if (_lastAsked.TryGetValue(key, out var asked) && now - asked < ReaskCheckInterval) continue;
                _lastAsked[key] = now;
                _steps.Tell(Reasked(request));
            }
        });
        Receive<Terminated>(t =>
        {
            // Nobody listens any more (the client's process or stream is gone): stop the build's steps.
            if (!t.ActorRef.Equals(_watcher)) return;
            WithdrawAll();
            Become(Finished);
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
        });
    }

    private static RequestStep Reasked(RequestStep request) => request.Reask ? request : new RequestStep(request) { Reask = true };

    /// <summary>The liveness clock (the system's, or a test's that moves only when told).</summary>
    private DateTime Now => _timings.Clock.GetUtcNow().UtcDateTime;

    private TimeSpan ReaskCheckInterval =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _timings.BuildReaskInterval.Ticks / 5));

    private void Heard(string cacheKey)
    {
        if (_lastHeard.ContainsKey(cacheKey)) _lastHeard[cacheKey] = Now;
    }

    private bool TakeInFlight(string cacheKey, out List<int> indexes)
    {
        _requests.Remove(cacheKey);
        _lastHeard.Remove(cacheKey);
        _lastAsked.Remove(cacheKey);
        return _inFlight.Remove(cacheKey, out indexes!);
    }

    private void MarkNeeded(int index)
    {
        if (index < 0 || !_needed.Add(index) || !_nodes.TryGetValue(index, out var node)) return;
        MarkNeeded(node.Parent);
        foreach (var input in node.Inputs) MarkNeeded(input.Node);
    }

    /// <summary>Completes what needs no work and requests every step whose inputs are ready.</summary>
    private void Advance()
    {
        bool progressed;
        do
        {
            progressed = false;
            foreach (var index in _needed.Order())
            {
                if (_done.ContainsKey(index) || IsInFlight(index)) continue;
                var node = _nodes[index];
                if (node.IsBase)
                {
                    _layers[index] = [.. node.BaseLayers];
                    _done[index] = new NodeOutcome { Index = index, Cached = true };
                    progressed = true;
                    continue;
                }
                if (!Ready(node.Parent) || !node.Inputs.All(i => Ready(i.Node))) continue;
                if (node.MetadataOnly)
                {
                    _layers[index] = [.. LayersOf(node.Parent)];
                    _done[index] = new NodeOutcome { Index = index, Cached = true };
                    progressed = true;
                    continue;
                }
                Request(node);
            }
        } while (progressed);

        if (_done.ContainsKey(_graph.FinalNode))
        {
            var finished = new BuildFinished { Success = true };
            finished.Outcomes.AddRange(_needed.Order().Select(i => _done[i]));
            finished.FinalLayers.AddRange(LayersOf(_graph.FinalNode));
            Finish(finished);
        }
    }

    private bool Ready(int index) => index < 0 || _done.ContainsKey(index);

    private bool IsInFlight(int index) => _inFlight.Values.Any(list => list.Contains(index));

    private void Request(GraphNode node)
    {
        var key = node.Definition.CacheKey;
        if (_inFlight.TryGetValue(key, out var sameKey))
        {
            // Two nodes of this build with one key (identical steps in two stages) share one request.
            sameKey.Add(node.Index);
            return;
        }
        // This build's own inputs travel with its request; the definition is the graph's, unchanged.
        var inputs = new StepInputs
        {
            BuildId = _buildId,
            Context = _start.Context,
            SecretProvider = _start.SecretProvider,
            StepIdentity = node.StepIdentity,
            RunLimits = _start.RunLimits,
            Team = _start.Team,
            Secrets = { node.Secrets },
            ParentLayers = { LayersOf(node.Parent) },
            SshSockets = { _start.SshSockets },
            SshHost = _start.SshHost,
            SshProvider = _start.SshProvider,
        };
        foreach (var input in node.Inputs)
            inputs.Stages.Add(new StageLayers { Name = input.Name, Layers = { LayersOf(input.Node) } });
        _inFlight[key] = [node.Index];
        var noCache = _graph.NoCache || _graph.NoCacheFilter.Contains(node.StageName);
        var request = new RequestStep { Definition = node.Definition, Inputs = inputs, NoCache = noCache, Reask = MayRunAlready(node) };
        _requests[key] = request;
        _lastHeard[key] = Now;
        _steps.Tell(request);
    }

    /// <summary>In a resumed build, a step whose inputs all came from records may have been running when the build's
    /// entity was lost; one that waited for a step this incarnation ran cannot have been, and needs no re-ask grace.</summary>
    private bool MayRunAlready(GraphNode node) =>
        _resumed && FromRecords(node.Parent) && node.Inputs.All(i => FromRecords(i.Node));

    private bool FromRecords(int index) => index < 0 || (_done.TryGetValue(index, out var outcome) && outcome.Cached);

    private IReadOnlyList<LayerRef> LayersOf(int index) =>
        index >= 0 && _layers.TryGetValue(index, out var layers) ? layers : [];

    private IEnumerable<int> NodesOf(string cacheKey) =>
        _inFlight.TryGetValue(cacheKey, out var list) ? list : [];

    private void WithdrawAll()
    {
        _requests.Clear();
        _lastHeard.Clear();
        _lastAsked.Clear();
        foreach (var key in _inFlight.Keys)
            _steps.Tell(new WithdrawStep { CacheKey = key, BuildId = _buildId });
        _inFlight.Clear();
    }

    private void Emit(int index, ProgressEvent.Types.Kind kind, Action<ProgressEvent> fill, LayerRef? layer = null)
    {
        var node = _nodes[index];
        var progress = new ProgressEvent
        {
            Kind = kind,
            StepId = node.Definition?.CacheKey ?? "",
            Name = node.DisplayName,
            Location = node.Location,
            TimestampUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Index = index,
        };
        fill(progress);
        _watcher.Tell(new BuildProgress { BuildId = _buildId, Event = progress, Layer = layer });
    }

    private void Finish(BuildFinished finished)
    {
        finished.BuildId = _buildId;
        _watcher.Tell(finished);
        Context.Unwatch(_watcher);
        Timers.CancelAll();
        Become(Finished);
        // The entity's work is done; sharding may stop it (nothing is remembered across restarts).
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }

    private void Finished()
    {
        // Late answers from step entities after a failure or cancel need nothing.
        ReceiveAny(_ => { });
    }
}
