namespace BuildFarm.Coordinator.Engine;

/// <summary>A node could not join its cluster through any of its seeds within the join timeout.</summary>
public sealed class EngineJoinException(string message) : Exception(message);
