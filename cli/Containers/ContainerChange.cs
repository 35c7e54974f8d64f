namespace BuildFarm.Cli.Containers;

/// <summary>One line of <c>diff</c>: A (added), C (changed) or D (deleted), and the absolute path.</summary>
public sealed record ContainerChange(char Kind, string Path)
{
    public override string ToString() => $"{Kind} {Path}";
}
