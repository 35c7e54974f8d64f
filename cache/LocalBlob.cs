namespace BuildFarm.Cache;

/// <summary>One blob the worker-local cache holds: its size, when it was last used (for LRU eviction) and whether this
/// process has checked its bytes against its digest (written or fetched here, or hashed once since start).</summary>
internal readonly record struct LocalBlob(long Size, DateTime LastUse, bool Verified);
