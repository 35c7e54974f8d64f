namespace BuildFarm.Cli.Progress;

/// <summary>Where one step of a build is, as the tty display shows it.</summary>
public enum StepStatus
{
    Waiting,
    Running,
    Done,
    Cached,
    Failed,
}
