using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Builds.Calls;

/// <summary>
/// BuildKit's <c>frontend.targets</c> answer (dockerfile2llb.ListTargets, subrequests/targets.PrintTargets): every stage
/// as written (name, doc comment, base and platform unexpanded), the last one the default. It reads the Dockerfile
/// only: no base image is resolved.
/// </summary>
public static class TargetsDocument
{
    public static CallResult From(DockerfileStages dockerfile, byte[] source)
    {
        var targets = new JsonArray();
        var table = new GoTabWriter(1).Line("TARGET", "DESCRIPTION");
        foreach (var stage in dockerfile.Stages)
        {
            var isDefault = stage.Index == dockerfile.Stages.Count - 1;
            var target = new JsonObject();
            if (stage.Name.Length > 0) target["name"] = stage.Name;
            if (isDefault) target["default"] = true;
            if (stage.DocComment.Length > 0) target["description"] = stage.DocComment;
            if (stage.BaseName.Length > 0) target["base"] = stage.BaseName;
            if (stage.Platform.Length > 0) target["platform"] = stage.Platform;
            target["location"] = CallLocation.ToJson(stage.Location);
            targets.Add(target);
            var name = stage.Name.Length == 0 && isDefault ? "(default)" : isDefault ? stage.Name + " (default)" : stage.Name;
            table.Line(name, stage.DocComment);
        }
        var root = new JsonObject { ["targets"] = targets, ["sources"] = new JsonArray(Convert.ToBase64String(source)) };
        return new CallResult(GoJson.MarshalIndent(root), table.Format());
    }
}
