namespace BuildFarm.Coordinator.CacheIo;

/// <summary>A cache to import that is not in BuildKit's cache format, or whose parts do not agree; the message names where.</summary>
public sealed class InvalidCacheException(string message) : Exception(message);
