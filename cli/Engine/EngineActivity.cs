namespace BuildFarm.Cli.Engine;

/// <summary>What the idle timeout looks at: the gRPC calls in progress and when the last one ended or began. A health
/// probe counts too, so that a client that just found the engine is never left with one stopping under it.</summary>
public sealed class EngineActivity(TimeProvider time)
{
    private readonly object _gate = new();
    private int _calls;
    private DateTimeOffset _last = time.GetUtcNow();

    public IDisposable Begin()
    {
        lock (_gate)
        {
            _calls++;
            _last = time.GetUtcNow();
        }
        return new Call(this);
    }

    /// <summary>How long nothing has been asked of the engine; zero while a call is in progress.</summary>
    public TimeSpan Idle
    {
        get
        {
            lock (_gate) return _calls > 0 ? TimeSpan.Zero : time.GetUtcNow() - _last;
        }
    }

    private void End()
    {
        lock (_gate)
        {
            _calls--;
            _last = time.GetUtcNow();
        }
    }

    private sealed class Call(EngineActivity activity) : IDisposable
    {
        private int _ended;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) activity.End();
        }
    }
}
