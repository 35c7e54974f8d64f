using System.CommandLine;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm rmi NAME...</c>: removes image names (blobs stay in the cache until pruned).</summary>
public static class RmiCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var names = new Argument<string[]>("IMAGE") { Description = "Image names to remove", Arity = ArgumentArity.OneOrMore };
        var command = new Command("rmi", "Remove one or more images from the local store") { names };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = new LocalImageStore(environment.Home.Images);
            var exit = 0;
            foreach (var name in parse.GetValue(names)!)
            {
                var removed = await store.RemoveAsync(name, cancellationToken);
                if (removed is null)
                {
                    await Console.Error.WriteLineAsync($"Error response: No such image: {name}");
                    exit = 1;
                    continue;
                }
                Console.WriteLine($"Untagged: {removed.Name}");
            }
            return exit;
        });
        return command;
    }
}
