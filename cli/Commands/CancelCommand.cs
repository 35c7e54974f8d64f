using System.CommandLine;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm cancel ID --server ADDR</c>: cancels a running build of the caller's team.</summary>
public static class CancelCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var id = new Argument<string>("BUILD") { Description = "The build's id (buildfarm builds)" };
        return FarmClientCommand.Create(environment, "cancel", "Cancel a running build on a farm", [id],
            async (parse, endpoint, cancellationToken) =>
            {
                var response = await endpoint.Client.CancelAsync(new CancelRequest { BuildId = parse.GetValue(id)!, Reason = "canceled with buildfarm cancel" },
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
                var build = response.Build;
                Console.WriteLine(build.State is BuildSummary.Types.State.Running or BuildSummary.Types.State.ReceivingContext
                    ? $"{build.BuildId} canceling"
                    : $"{build.BuildId} already {BuildsCommand.StateName(build.State)}");
                return 0;
            });
    }
}
