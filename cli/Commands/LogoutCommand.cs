using System.CommandLine;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm logout [REGISTRY]</c>: removes a login from $DOCKER_CONFIG/config.json (or its credential helper).</summary>
public static class LogoutCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var server = new Argument<string?>("SERVER") { Description = "Registry host[:port] (default docker.io)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("logout", "Log out from a registry") { server };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var registry = LoginCommand.Registry(parse.GetValue(server));
            var removed = await new DockerConfigFile(environment.DockerConfigDirectory).EraseAsync(registry, cancellationToken);
            Console.WriteLine(removed ? $"Removing login credentials for {DockerConfigFile.KeyFor(registry)}" : $"Not logged in to {DockerConfigFile.KeyFor(registry)}");
            return 0;
        });
        return command;
    }
}
