namespace BuildFarm.Worker.FileOps;

/// <summary>A COPY/ADD that cannot be done as written (missing source, bad destination, ...).</summary>
public sealed class CopyException(string message, Exception? inner = null) : Exception(message, inner);
