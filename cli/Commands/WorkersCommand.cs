using System.CommandLine;
using System.Text.Json;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm workers --server ADDR</c>: the workers of a farm as its coordinator's worker pool knows them.</summary>
public static class WorkersCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>One worker in <c>--format json</c>; the property names are part of the CLI's contract.</summary>
    private sealed record WorkerRow(string Id, int Pid, string Address, int Slots, int Running, long StepsExecuted, long LocalCacheBytes,
        IReadOnlyList<string> Platforms, IReadOnlyList<string> EmulatedPlatforms);

    public static Command Create(CliEnvironment environment)
    {
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        return FarmClientCommand.Create(environment, "workers", "List the workers of a farm: slots, running steps, steps executed, local cache", [format],
            async (parse, endpoint, cancellationToken) =>
            {
                var response = await endpoint.Client.ListWorkersAsync(new ListWorkersRequest(),
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
                var rows = response.Workers.Select(w => new WorkerRow(w.Id, w.Pid, w.Address, w.Slots, w.Running, w.StepsExecuted, w.LocalCacheBytes,
                    [.. w.Platforms], [.. w.EmulatedPlatforms])).ToList();
                if (parse.GetValue(format) == "json")
                {
                    Console.WriteLine(JsonSerializer.Serialize(rows, Json));
                    return 0;
                }
                Console.WriteLine($"{"ID",-32} {"PID",-8} {"ADDRESS",-40} {"SLOTS",-6} {"RUNNING",-8} {"EXECUTED",-9} {"LOCAL CACHE",-11} PLATFORMS");
                foreach (var w in rows)
                    Console.WriteLine($"{w.Id,-32} {w.Pid,-8} {w.Address,-40} {w.Slots,-6} {w.Running,-8} {w.StepsExecuted,-9} {ImagesCommand.HumanSize(w.LocalCacheBytes),-11} {string.Join(",", w.Platforms.Concat(w.EmulatedPlatforms.Select(p => p + "(emulated)")))}");
                return 0;
            });
    }
}
