using Grpc.Core;

namespace BuildFarm.Coordinator.Api;

/// <summary>gRPC allows one pending write per stream; a Build call with forwarded ssh writes from several tasks (events,
/// agent connections), so they take turns here.</summary>
public sealed class SerializedStreamWriter<T>(IAsyncStreamWriter<T> inner) : IServerStreamWriter<T>, IClientStreamWriter<T>
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public Task WriteAsync(T message) => WriteAsync(message, CancellationToken.None);

    public async Task WriteAsync(T message, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            await inner.WriteAsync(message, cancellationToken);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>Client streams only: ends the request stream, after any write in progress.</summary>
    public async Task CompleteAsync()
    {
        await _turn.WaitAsync();
        try
        {
            await ((IClientStreamWriter<T>)inner).CompleteAsync();
        }
        finally
        {
            _turn.Release();
        }
    }
}
