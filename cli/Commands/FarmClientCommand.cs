using System.CommandLine;
using BuildFarm.Cli.Remote;
using Grpc.Core;

namespace BuildFarm.Cli.Commands;

/// <summary>The frame of a client verb of a farm (<c>builds</c>, <c>watch</c>, <c>cancel</c>, <c>workers</c>):
/// <c>--server</c>, <c>--token</c>, <c>--tlscacert</c>, and one error line for a call the farm refuses.</summary>
public static class FarmClientCommand
{
    public static Command Create(CliEnvironment environment, string name, string description, IEnumerable<Symbol> symbols,
        Func<ParseResult, RemoteEndpoint, CancellationToken, Task<int>> action)
    {
        var server = new Option<string>("--server") { Description = "The coordinator's gRPC address (HOST:PORT, or https://HOST:PORT)", Required = true };
        var remote = new RemoteOptions();
        var command = new Command(name, description) { server };
        foreach (var option in remote.All) command.Options.Add(option);
        foreach (var symbol in symbols)
        {
            if (symbol is Option option) command.Options.Add(option);
            else if (symbol is Argument argument) command.Arguments.Add(argument);
        }
        command.SetAction(async (parse, cancellationToken) =>
        {
            RemoteEndpoint endpoint;
            try
            {
                endpoint = new RemoteEndpoint(parse.GetValue(server)!, remote.Resolve(parse, environment));
            }
            catch (UsageException e)
            {
                await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
                return 1;
            }
            using var _ = endpoint;
            try
            {
                return await action(parse, endpoint, cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                return 130;
            }
            catch (RpcException e)
            {
                await Console.Error.WriteLineAsync($"ERROR: {endpoint.Describe(e)}");
                return 1;
            }
        });
        return command;
    }
}
