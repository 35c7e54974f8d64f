namespace BuildFarm.Client;

/// <summary>A file output of a finished build could not be brought here (written, checked or unpacked).</summary>
public sealed class ExportException(string message, Exception inner) : Exception(message, inner);
