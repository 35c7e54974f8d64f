using System.CommandLine;

namespace BuildFarm.Cli.Commands;

/// <summary>Every verb of the <c>buildfarm</c> command, one factory per file in this folder.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> Create()
    {
        yield return VersionCommand.Create();
        yield return BuildCommand.Create();
        yield return PlanCommand.Create();
        yield return ImagesCommand.Create();
        yield return RmiCommand.Create();
        yield return RunCommand.Create();
        yield return ServeCommand.Create();
        yield return CacheCommand.Create();
    }
}
