using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Builds.Calls;

/// <summary>An instruction's place as BuildKit's pb.Location marshals to JSON: one range of lines (character 0 is omitted).</summary>
public static class CallLocation
{
    public static JsonObject ToJson(SourceLocation location) => new()
    {
        ["ranges"] = new JsonArray(new JsonObject
        {
            ["start"] = Position(location.StartLine),
            ["end"] = Position(location.EndLine),
        }),
    };

    private static JsonObject Position(int line) => line > 0 ? new JsonObject { ["line"] = line } : new JsonObject();
}
