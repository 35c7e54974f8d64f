using Akka.Actor;
using Akka.Cluster.Sharding;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using Google.Protobuf;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// One entity per build id: walks the build's step graph, asks the step entities for each step whose
/// inputs are ready (so independent stages run at the same time), and streams progress to the watcher.
/// </summary>
public sealed class BuildEntity : ReceiveActor
{
    public const string TypeName = "build";

    private readonly string _buildId;
    private readonly IActorRef _steps;
    private readonly Dictionary<int, GraphNode> _nodes = [];
    private readonly Dictionary<int, NodeOutcome> _done = [];
    private readonly Dictionary<int, List<LayerRef>> _layers = [];
    private readonly Dictionary<string, List<int>> _inFlight = [];
    private readonly Dictionary<int, long> _startedAt = [];
    private readonly HashSet<int> _needed = [];
    private IActorRef _watcher = ActorRefs.Nobody;
    private BuildGraph _graph = new();

    public BuildEntity(string buildId, IActorRef steps)
    {
        _buildId = buildId;
        _steps = steps;
        Become(WaitingForStart);
    }

    public static Props Props(string buildId, IActorRef steps) =>
        Akka.Actor.Props.Create(() => new BuildEntity(buildId, steps));

    private void WaitingForStart()
    {
        Receive<StartBuild>(start =>
        {
            _watcher = Sender;
            _graph = start.Graph;
            foreach (var node in _graph.Nodes) _nodes[node.Index] = node;
            if (!_nodes.ContainsKey(_graph.FinalNode))
            {
                Finish(new BuildFinished { Success = false, Error = $"the build graph has no node {_graph.FinalNode}" });
                return;
            }
            MarkNeeded(_graph.FinalNode);
            Become(Walking);
            Advance();
        });
        Receive<CancelBuildCommand>(_ => Finish(new BuildFinished { Success = false, Canceled = true, Error = "canceled" }));
    }

    private void Walking()
    {
        Receive<StepStarted>(s =>
        {
            foreach (var index in NodesOf(s.CacheKey))
            {
                _startedAt[index] = s.StartedUnixMs;
                Emit(index, ProgressEvent.Types.Kind.Started, e => e.StartedUnixMs = s.StartedUnixMs);
            }
        });
        Receive<StepMissExplained>(m =>
        {
            foreach (var index in NodesOf(m.CacheKey))
                Emit(index, ProgressEvent.Types.Kind.CacheMiss, e =>
                {
                    e.CacheMiss = m.Explanation;
                    e.CacheMissInputs.AddRange(m.ChangedInputs);
                });
        });
        Receive<StepLog>(l =>
        {
            foreach (var index in NodesOf(l.CacheKey))
                Emit(index, ProgressEvent.Types.Kind.Log, e => { e.Log = l.Data; e.Stream = l.Stream; });
        });
        Receive<StepCompleted>(c =>
        {
            if (!_inFlight.Remove(c.Result.CacheKey, out var indexes)) return;
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
                });
            }
            Advance();
        });
        Receive<StepFailed>(f =>
        {
            if (!_inFlight.Remove(f.CacheKey, out var indexes)) return;
            var node = _nodes[indexes[0]];
            Emit(node.Index, ProgressEvent.Types.Kind.Failed, e => e.Error = f.Message);
            WithdrawAll();
            var finished = new BuildFinished
            {
                Success = false,
                Error = f.Message,
                ErrorLocation = node.Spec?.Location ?? "",
                ErrorInstruction = node.Spec?.DisplayName ?? "",
                ExitCode = f.ExitCode,
            };
            finished.LogTail.AddRange(f.LogTail);
            Finish(finished);
        });
        Receive<CancelBuildCommand>(c =>
        {
            WithdrawAll();
            Finish(new BuildFinished { Success = false, Canceled = true, Error = string.IsNullOrEmpty(c.Reason) ? "canceled" : c.Reason });
        });
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
        var spec = node.Spec.Clone();
        spec.BuildId = _buildId;
        spec.ParentLayers.Clear();
        spec.ParentLayers.AddRange(LayersOf(node.Parent));
        spec.Stages.Clear();
        foreach (var input in node.Inputs)
            spec.Stages.Add(new StageLayers { Name = input.Name, Layers = { LayersOf(input.Node) } });
        if (_inFlight.TryGetValue(spec.CacheKey, out var sameKey))
        {
            // Two nodes of this build with one key (identical steps in two stages) share one request.
            sameKey.Add(node.Index);
            return;
        }
        _inFlight[spec.CacheKey] = [node.Index];
        var noCache = _graph.NoCache || _graph.NoCacheFilter.Contains(node.StageName);
        _steps.Tell(new RequestStep { Spec = spec, NoCache = noCache, BuildId = _buildId });
    }

    private IReadOnlyList<LayerRef> LayersOf(int index) =>
        index >= 0 && _layers.TryGetValue(index, out var layers) ? layers : [];

    private IEnumerable<int> NodesOf(string cacheKey) =>
        _inFlight.TryGetValue(cacheKey, out var list) ? list : [];

    private void WithdrawAll()
    {
        foreach (var key in _inFlight.Keys)
            _steps.Tell(new WithdrawStep { CacheKey = key, BuildId = _buildId });
        _inFlight.Clear();
    }

    private void Emit(int index, ProgressEvent.Types.Kind kind, Action<ProgressEvent> fill)
    {
        var node = _nodes[index];
        var progress = new ProgressEvent
        {
            Kind = kind,
            StepId = node.Spec?.CacheKey ?? "",
            Name = node.Spec?.DisplayName ?? "",
            Location = node.Spec?.Location ?? "",
            TimestampUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Index = index,
        };
        fill(progress);
        _watcher.Tell(new BuildProgress { BuildId = _buildId, Event = progress });
    }

    private void Finish(BuildFinished finished)
    {
        finished.BuildId = _buildId;
        _watcher.Tell(finished);
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
