namespace BuildFarm.Coordinator.Builds;

/// <summary>A --build-context that cannot be used: not a folder, not an OCI layout, no such image in it.</summary>
public sealed class NamedContextException(string message) : Exception(message);
