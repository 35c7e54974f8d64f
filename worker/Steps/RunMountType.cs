namespace BuildFarm.Worker.Steps;

public enum RunMountType
{
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}
