using System.CommandLine;
using System.Text.Json;
using BuildFarm.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm workers --server ADDR</c>: the workers of a farm as its coordinator's worker pool knows them.</summary>
public static class WorkersCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>One worker in <c>--format json</c>; the property names are part of the CLI's contract.</summary>
    private sealed record WorkerRow(string Id, int Pid, string Address, int Slots, int Running, long StepsExecuted, long LocalCacheBytes);

    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "The coordinator's gRPC address (HOST:PORT)", Required = true };
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var command = new Command("workers", "List the workers of a farm: slots, running steps, steps executed, local cache") { server, format };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var address = parse.GetValue(server)!;
            ListWorkersResponse response;
            try
            {
                using var channel = GrpcChannel.ForAddress(address.Contains("://") ? address : "http://" + address);
                response = await new BuildService.BuildServiceClient(channel)
                    .ListWorkersAsync(new ListWorkersRequest(), deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            }
            catch (RpcException e)
            {
                var what = e.StatusCode == Grpc.Core.StatusCode.Unavailable ? "no coordinator answers there: " : "";
                await Console.Error.WriteLineAsync($"ERROR: {address}: {what}{e.Status.Detail} ({e.StatusCode})");
                return 1;
            }
            catch (UriFormatException)
            {
                await Console.Error.WriteLineAsync($"ERROR: --server {address}: expected HOST:PORT");
                return 1;
            }
            var rows = response.Workers.Select(w => new WorkerRow(w.Id, w.Pid, w.Address, w.Slots, w.Running, w.StepsExecuted, w.LocalCacheBytes)).ToList();
            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(rows, Json));
                return 0;
            }
            Console.WriteLine($"{"ID",-32} {"PID",-8} {"ADDRESS",-40} {"SLOTS",-6} {"RUNNING",-8} {"EXECUTED",-9} LOCAL CACHE");
            foreach (var w in rows)
                Console.WriteLine($"{w.Id,-32} {w.Pid,-8} {w.Address,-40} {w.Slots,-6} {w.Running,-8} {w.StepsExecuted,-9} {ImagesCommand.HumanSize(w.LocalCacheBytes)}");
            return 0;
        });
        return command;
    }
}
