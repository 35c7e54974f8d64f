namespace BuildFarm.Worker.Execution;

public enum OutputStream
{
    Stdout = 1,
    Stderr = 2,
}
