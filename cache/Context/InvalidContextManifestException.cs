namespace BuildFarm.Cache.Context;

/// <summary>A context manifest that cannot be trusted: malformed, or an entry that could write outside the folder
/// it is materialized in. The message names the manifest and the entry.</summary>
public sealed class InvalidContextManifestException(string message) : Exception(message);
