namespace BuildFarm.Coordinator.Engine;

public static class EngineRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";
}
