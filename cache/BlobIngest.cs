using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>
/// One blob on its way into a <see cref="LocalContentStore"/> (a base image's layer being downloaded), announced before
/// its bytes arrive so that a reader of the same store can consume it while it is written: the worker unpacks a layer
/// while the registry still sends it. The writer reports how far it got; the outcome ends it — committed, or the
/// writer's error (a digest mismatch, a broken connection), which every reader then gets instead of an end of stream.
/// </summary>
public sealed class BlobIngest
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _progress = NewSignal();
    private string? _tempPath;
    private long _written;
    private int _claimed;
    private int _ended;
    private readonly Action<BlobIngest> _forget;

    /// <param name="forget">Called once, as it ends and before its outcome is visible: the store stops offering it (a
    /// reader that comes after finds the committed blob, or nothing).</param>
    internal BlobIngest(Digest digest, Action<BlobIngest> forget)
    {
        Digest = digest;
        _forget = forget;
    }

    public Digest Digest { get; }

    /// <summary>Completes when the blob is committed to the store; faults with the writer's error.</summary>
    public Task Completion => _done.Task;

    /// <summary>Bytes written to <see cref="TempPath"/> so far (readable there by another handle).</summary>
    internal long Written => Volatile.Read(ref _written);

    /// <summary>The file being written, once the writer created it (renamed into place on commit, deleted on failure).</summary>
    internal string? TempPath => Volatile.Read(ref _tempPath);

    /// <summary>The first writer owns the progress reports; a second writer of the same digest writes on its own.</summary>
    internal bool TryClaim() => Interlocked.Exchange(ref _claimed, 1) == 0;

    /// <summary>A task that completes at the writer's next report (capture it before reading the state, so that no
    /// report between the read and the wait is missed).</summary>
    internal Task NextProgress()
    {
        lock (_gate) return _progress.Task;
    }

    internal void Started(string tempPath)
    {
        Volatile.Write(ref _tempPath, tempPath);
        Pulse();
    }

    internal void Advanced(long written)
    {
        Volatile.Write(ref _written, written);
        Pulse();
    }

    internal void Succeeded()
    {
        End();
        _done.TrySetResult();
        Pulse();
    }

    /// <summary>Ends the ingest with <paramref name="error"/>: the writer failed, or never got to write (the download
    /// could not start). Readers throw it.</summary>
    public void Fail(Exception error)
    {
        End();
        _done.TrySetException(error);
        Pulse();
    }

    private void End()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0) _forget(this);
    }

    private void Pulse()
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            old = _progress;
            _progress = NewSignal();
        }
        old.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
