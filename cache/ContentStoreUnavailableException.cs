namespace BuildFarm.Cache;

/// <summary>The store could not be reached (or kept failing) within the configured time; the message names the
/// endpoint and the last error seen.</summary>
public sealed class ContentStoreUnavailableException(string location, string operation, TimeSpan waited, Exception? lastError)
    : IOException($"cache store {location} is unavailable: {operation} failed for {waited.TotalSeconds:0.#} s"
                  + (lastError is null ? "" : $"; last error: {lastError.GetType().Name}: {lastError.Message}"), lastError)
{
    public string Location { get; } = location;
}
