using System.CommandLine;

namespace BuildFarm.Cli.Commands;

/// <summary>Every verb of the <c>buildfarm</c> command, one factory per file in this folder.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> Create(CliEnvironment environment)
    {
        yield return VersionCommand.Create();
        yield return BuildCommand.Create(environment);
        yield return PlanCommand.Create(environment);
        yield return ImagesCommand.Create(environment);
        yield return RmiCommand.Create(environment);
        yield return TagCommand.Create(environment);
        yield return InspectCommand.Create(environment);
        yield return HistoryCommand.Create(environment);
        yield return PullCommand.Create(environment);
        yield return PushCommand.Create(environment);
        yield return LoginCommand.Create(environment);
        yield return LogoutCommand.Create(environment);
        yield return SaveCommand.Create(environment);
        yield return LoadCommand.Create(environment);
        yield return RunCommand.Create(environment);
        yield return PsCommand.Create(environment);
        yield return RmCommand.Create(environment);
        yield return DiffCommand.Create(environment);
        yield return CommitCommand.Create(environment);
        yield return ServeCommand.Create(environment);
        yield return CoordinatorCommand.Create(environment);
        yield return WorkerCommand.Create(environment);
        yield return WorkersCommand.Create(environment);
        yield return BuildsCommand.Create(environment);
        yield return WatchCommand.Create(environment);
        yield return CancelCommand.Create(environment);
        yield return CacheCommand.Create(environment);
    }
}
