namespace BuildFarm.Cache;

/// <summary>A step record with the last time a build used it (for pruning and <c>cache ls</c>).</summary>
public sealed record StepRecordEntry(StepRecord Record, DateTimeOffset LastUsed, long Size);
