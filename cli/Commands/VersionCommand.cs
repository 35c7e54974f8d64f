using System.CommandLine;
using System.Reflection;

namespace BuildFarm.Cli.Commands;

public static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the buildfarm version");
        command.SetAction(_ =>
        {
            var version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";
            Console.WriteLine($"buildfarm {version}");
            return 0;
        });
        return command;
    }
}
