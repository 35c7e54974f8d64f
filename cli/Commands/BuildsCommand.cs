using System.CommandLine;
using System.Text.Json;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm builds --server ADDR</c>: the running and recent builds of the caller's team (all teams with an
/// admin token), newest first.</summary>
public static class BuildsCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>One build in <c>--format json</c>; the property names are part of the CLI's contract.</summary>
    private sealed record BuildRow(string Id, string Team, string State, long StartedUnixMs, long EndedUnixMs, IReadOnlyList<string> Tags,
        string? ManifestDigest, string? Error);

    public static Command Create(CliEnvironment environment)
    {
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        return FarmClientCommand.Create(environment, "builds", "List the running and recent builds of your team on a farm", [format],
            async (parse, endpoint, cancellationToken) =>
            {
                var response = await endpoint.Client.ListBuildsAsync(new ListBuildsRequest(),
                    deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
                var rows = response.Builds.Select(b => new BuildRow(b.BuildId, b.Team, StateName(b.State), b.StartedUnixMs, b.EndedUnixMs,
                    [.. b.Tags], b.Result?.ManifestDigest, b.Error?.Message)).ToList();
                if (parse.GetValue(format) == "json")
                {
                    Console.WriteLine(JsonSerializer.Serialize(rows, Json));
                    return 0;
                }
                Console.WriteLine($"{"BUILD ID",-32} {"TEAM",-16} {"STATE",-10} {"STARTED",-20} {"DURATION",-9} TAGS");
                foreach (var b in rows)
                {
                    var startedAt = DateTimeOffset.FromUnixTimeMilliseconds(b.StartedUnixMs);
                    var end = b.EndedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(b.EndedUnixMs) : DateTimeOffset.UtcNow;
                    Console.WriteLine($"{b.Id,-32} {b.Team,-16} {b.State,-10} {startedAt.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {(end - startedAt).TotalSeconds,7:0.0}s  {string.Join(',', b.Tags)}");
                }
                return 0;
            });
    }

    public static string StateName(BuildSummary.Types.State state) => state switch
    {
        BuildSummary.Types.State.ReceivingContext => "receiving",
        BuildSummary.Types.State.Running => "running",
        BuildSummary.Types.State.Succeeded => "succeeded",
        BuildSummary.Types.State.Failed => "failed",
        BuildSummary.Types.State.Canceled => "canceled",
        _ => "unknown",
    };
}
