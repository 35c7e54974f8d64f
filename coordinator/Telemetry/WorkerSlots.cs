namespace BuildFarm.Coordinator.Telemetry;

/// <summary>One worker's slots as its pool last knew them.</summary>
public sealed record WorkerSlots(string WorkerId, int Slots, int Busy);
