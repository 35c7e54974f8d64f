namespace BuildFarm.Cache;

/// <summary>One object of a store, by its name relative to the namespace prefix.</summary>
public sealed record StoredObject(string Name, long Size, DateTimeOffset LastModified);
