namespace BuildFarm.Worker.Diff;

/// <summary>When a layer blob's upload to the content store began and ended (wall clock, ms), for the step's trace.</summary>
public readonly record struct UploadTiming(long StartedUnixMs, long CompletedUnixMs);
