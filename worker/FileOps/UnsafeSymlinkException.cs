namespace BuildFarm.Worker.FileOps;

/// <summary>A source symlink would make a copy read outside its root.</summary>
public sealed class UnsafeSymlinkException(string message) : IOException(message);
