using System.CommandLine;
using BuildFarm.Cli.Containers;
using BuildFarm.Cli.Formatting;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm ps [-a]</c>: containers kept by <c>run --name</c> (running ones; all with -a).</summary>
public static class PsCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var all = new Option<bool>("--all", "-a") { Description = "Show all containers (default shows just running)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display container IDs" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var command = new Command("ps", "List containers") { all, quiet, noTrunc };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var containers = (await new ContainerStore(environment.Home.Containers).ListAsync(cancellationToken))
                .Where(c => parse.GetValue(all) || c.IsRunning).ToList();
            var full = parse.GetValue(noTrunc);
            string Id(ContainerRecord c) => full ? c.Id : c.ShortId;
            if (parse.GetValue(quiet))
            {
                foreach (var c in containers) Console.WriteLine(Id(c));
                return 0;
            }
            Console.WriteLine($"{"CONTAINER ID",-14} {"IMAGE",-30} {"COMMAND",-24} {"CREATED",-20} {"STATUS",-26} NAMES");
            foreach (var c in containers)
            {
                var commandLine = "\"" + string.Join(' ', c.Command) + "\"";
                if (!full && commandLine.Length > 22) commandLine = commandLine[..21] + "…\"";
                var status = c.IsRunning ? $"Up {HumanTime.Since(c.Created)}" : c.ExitCode is { } code ? $"Exited ({code}) {HumanTime.Ago(c.Finished ?? c.Created)}" : "Dead";
                Console.WriteLine($"{Id(c),-14} {c.Image,-30} {commandLine,-24} {HumanTime.Ago(c.Created),-20} {status,-26} {c.Name}");
            }
            return 0;
        });
        return command;
    }
}
