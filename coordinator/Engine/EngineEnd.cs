namespace BuildFarm.Coordinator.Engine;

/// <summary>How an engine node's actor system ended: asked to (<see cref="Requested"/>), or removed by the cluster
/// (downed, or it left without being asked) — a host exits non-zero on the latter so its supervisor restarts it.</summary>
public sealed record EngineEnd(bool Requested, string Reason);
