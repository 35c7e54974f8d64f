namespace BuildFarm.Coordinator.Engine;

/// <summary>How well a worker fits a step's platform: the pool sends a RUN only where it can run, natively first.</summary>
public enum PlatformFit
{
    None = 0,
    Emulated = 1,
    Native = 2,
}
