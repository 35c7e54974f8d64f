
namespace BuildFarm.Coordinator.Context;

/// <summary>A context manifest entry that cannot be materialized: it names the entry's path and the cause.
/// <see cref="Denied"/>: the build may not have the entry's content (not uploaded, not proven).</summary>
public sealed class ContextEntryException(string path, string message, bool denied = false, Exception? inner = null)
    : Exception($"context entry '{path}': {message}", inner)
{
    public string EntryPath { get; } = path;
    public bool Denied { get; } = denied;
}
