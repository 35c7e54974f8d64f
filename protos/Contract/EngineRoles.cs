namespace BuildFarm.Protos;

public static class EngineRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";
}
