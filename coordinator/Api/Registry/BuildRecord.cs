using System.Threading.Channels;
using BuildFarm.Protos.V1;
using State = BuildFarm.Protos.V1.BuildSummary.Types.State;

namespace BuildFarm.Coordinator.Api.Registry;

/// <summary>
/// One build the coordinator runs or ran: who it belongs to, where it is, and its events kept for replay (bounded:
/// beyond <see cref="MaxEvents"/> further log lines are counted, not kept; step starts, ends and errors are always kept).
/// Watchers each get a channel; the final result is read from the record once their channel completes, so a slow
/// watcher can never miss it.
/// </summary>
public sealed class BuildRecord
{
    public const int MaxEvents = 10_000;
    private const int WatcherBuffer = MaxEvents + 1_000;

    private readonly Lock _gate = new();
    private readonly List<BuildResponse> _events = [];
    private readonly List<Channel<BuildResponse>> _watchers = [];
    private readonly CancellationTokenSource _cancel = new();
    private readonly TimeSpan _orphanGrace;
    private int _droppedLogs;

    public BuildRecord(string id, string team, IReadOnlyList<string> tags, DateTimeOffset started, TimeSpan orphanGrace)
    {
        Id = id;
        Team = team;
        Tags = tags;
        Started = started;
        _orphanGrace = orphanGrace;
    }

    public string Id { get; }
    public string Team { get; }
    public IReadOnlyList<string> Tags { get; }
    public DateTimeOffset Started { get; }

    /// <summary>The blobs and steps this build holds while it runs (see <see cref="BuildLeases"/>).</summary>
    public BuildLeases Leases { get; } = new();

    /// <summary>Canceled by <see cref="Cancel"/> or when no client is attached for the orphan grace.</summary>
    public CancellationToken Canceled => _cancel.Token;

    public State State { get { lock (_gate) return _state; } }
    private State _state = State.ReceivingContext;
    private DateTimeOffset? _ended;
    private BuildResponse? _final;
    private string? _cancelReason;

    /// <summary>The final Result or Error once it ended.</summary>
    public BuildResponse? Final { get { lock (_gate) return _final; } }

    public DateTimeOffset? Ended { get { lock (_gate) return _ended; } }

    /// <summary>Why it was canceled, when it was (a Cancel call, or no client attached).</summary>
    public string? CancelReason { get { lock (_gate) return _cancelReason; } }

    public void Running()
    {
        lock (_gate) if (_state == State.ReceivingContext) _state = State.Running;
    }

    public void Append(BuildResponse response)
    {
        lock (_gate)
        {
            if (_final is not null) return;
            if (_events.Count >= MaxEvents && response.Progress?.Kind == ProgressEvent.Types.Kind.Log)
            {
                _droppedLogs++;
            }
            else
            {
                _events.Add(response);
            }
            foreach (var watcher in _watchers) watcher.Writer.TryWrite(response);
        }
    }

    /// <summary>Ends the build with its final Result or Error; watchers' channels complete.</summary>
    public void Finish(BuildResponse final, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_final is not null) return;
            _final = final;
            _ended = now;
            _state = final.MessageCase == BuildResponse.MessageOneofCase.Result ? State.Succeeded
                : _cancel.IsCancellationRequested || final.Error?.ErrorClass == "canceled" ? State.Canceled
                : State.Failed;
            foreach (var watcher in _watchers) watcher.Writer.TryComplete();
            _watchers.Clear();
        }
    }

    /// <summary>Asks the build to stop; false when it had already ended.</summary>
    public bool Cancel(string reason)
    {
        lock (_gate)
        {
            if (_final is not null) return false;
            _cancelReason ??= reason;
        }
        _cancel.Cancel();
        return true;
    }

    /// <summary>
    /// A channel of this build's events: those kept so far when <paramref name="fromStart"/>, then each new one; it
    /// completes when the build ends (read <see cref="Final"/> then). Dispose the subscription when the watcher leaves.
    /// </summary>
    public Subscription Subscribe(bool fromStart)
    {
        var channel = Channel.CreateBounded<BuildResponse>(new BoundedChannelOptions(WatcherBuffer)
        {
            FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true,
        });
        lock (_gate)
        {
            if (fromStart)
            {
                foreach (var e in _events) channel.Writer.TryWrite(e);
                if (_droppedLogs > 0)
                {
                    channel.Writer.TryWrite(new BuildResponse
                    {
                        Progress = new ProgressEvent
                        {
                            Kind = ProgressEvent.Types.Kind.Info, StepId = "watch",
                            Name = $"[internal] {_droppedLogs} log events of this build were not kept for replay (more than {MaxEvents} events)",
                        },
                    });
                }
            }
            if (_final is not null) channel.Writer.TryComplete();
            else _watchers.Add(channel);
        }
        return new Subscription(this, channel);
    }

    public int Watchers { get { lock (_gate) return _watchers.Count; } }

    public BuildSummary Summary()
    {
        lock (_gate)
        {
            var summary = new BuildSummary
            {
                BuildId = Id, Team = Team, State = _state,
                StartedUnixMs = Started.ToUnixTimeMilliseconds(),
                EndedUnixMs = _ended?.ToUnixTimeMilliseconds() ?? 0,
                Tags = { Tags },
                Watchers = _watchers.Count,
            };
            if (_final?.Result is { } result) summary.Result = result;
            if (_final?.Error is { } error) summary.Error = error;
            return summary;
        }
    }

    private void Unsubscribe(Channel<BuildResponse> channel)
    {
        bool orphaned;
        lock (_gate)
        {
            orphaned = _watchers.Remove(channel) && _watchers.Count == 0 && _final is null;
        }
        // The last client went away while the build runs: it may come back (Watch), so wait before canceling.
        if (orphaned) _ = CancelIfStillOrphanedAsync();
    }

    private async Task CancelIfStillOrphanedAsync()
    {
        await Task.Delay(_orphanGrace);
        lock (_gate)
        {
            if (_watchers.Count > 0 || _final is not null) return;
        }
        Cancel($"no client watched it for {_orphanGrace.TotalSeconds:0.#} s");
    }

    /// <summary>One watcher's channel; disposing it detaches the watcher.</summary>
    public sealed class Subscription(BuildRecord record, Channel<BuildResponse> channel) : IDisposable
    {
        public ChannelReader<BuildResponse> Events => channel.Reader;

        public void Dispose() => record.Unsubscribe(channel);
    }
}
