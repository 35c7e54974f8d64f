using System.CommandLine;
using BuildFarm.Cli.Containers;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm rm CONTAINER...</c>: removes kept containers and their writable layers.</summary>
public static class RmCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var names = new Argument<string[]>("CONTAINER") { Description = "Container names or IDs", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Remove one or more containers") { names };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = new ContainerStore(environment.Home.Containers);
            var exit = 0;
            foreach (var name in parse.GetValue(names)!)
            {
                var container = await store.FindAsync(name, cancellationToken);
                if (container is null)
                {
                    await Console.Error.WriteLineAsync($"Error response from daemon: No such container: {name}");
                    exit = 1;
                }
                else if (container.IsRunning)
                {
                    await Console.Error.WriteLineAsync($"Error response from daemon: You cannot remove a running container {container.Id}. Stop the container (end its buildfarm run) before attempting removal");
                    exit = 1;
                }
                else
                {
                    await store.RemoveAsync(container, cancellationToken);
                    Console.WriteLine(name);
                }
            }
            return exit;
        });
        return command;
    }
}
