using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Coordinator.Builds.Calls;

/// <summary>BuildKit's <c>frontend.outline</c> answer (subrequests/outline: the Outline type and PrintOutline).</summary>
public static class OutlineDocument
{
    public static CallResult From(PlanOutline outline, byte[] dockerfile)
    {
        var root = new JsonObject();
        if (outline.Name.Length > 0) root["name"] = outline.Name;
        if (outline.Description.Length > 0) root["description"] = outline.Description;
        if (outline.Args.Count > 0)
            root["args"] = new JsonArray([.. outline.Args.Select(a =>
            {
                var arg = new JsonObject { ["name"] = a.Name };
                if (a.Description.Length > 0) arg["description"] = a.Description;
                if (a.Value.Length > 0) arg["value"] = a.Value;
                arg["location"] = CallLocation.ToJson(a.Location);
                return (JsonNode)arg;
            })]);
        if (outline.Secrets.Count > 0) root["secrets"] = Requirements(outline.Secrets);
        if (outline.Ssh.Count > 0) root["ssh"] = Requirements(outline.Ssh);
        root["sources"] = new JsonArray(Convert.ToBase64String(dockerfile));
        return new CallResult(GoJson.MarshalIndent(root), Print(outline));
    }

    private static JsonArray Requirements(IReadOnlyList<OutlineRequirement> requirements) =>
        new([.. requirements.Select(r =>
        {
            var item = new JsonObject { ["name"] = r.Name };
            if (r.Required) item["required"] = true;
            item["location"] = CallLocation.ToJson(r.Location);
            return (JsonNode)item;
        })]);

    // PrintOutline: each table, then an empty line
    private static string Print(PlanOutline outline)
    {
        var text = "";
        if (outline.Name.Length > 0 || outline.Description.Length > 0)
        {
            var head = new GoTabWriter(1).Line("TARGET:", outline.Name.Length > 0 ? outline.Name : "(default)");
            if (outline.Description.Length > 0) head.Line("DESCRIPTION:", outline.Description);
            text += head.Format() + "\n";
        }
        if (outline.Args.Count > 0)
        {
            var table = new GoTabWriter(3).Line("BUILD ARG", "VALUE", "DESCRIPTION");
            foreach (var arg in outline.Args) table.Line(arg.Name, arg.Value, arg.Description);
            text += table.Format() + "\n";
        }
        foreach (var (title, list) in new[] { ("SECRET", outline.Secrets), ("SSH", outline.Ssh) })
        {
            if (list.Count == 0) continue;
            var table = new GoTabWriter(3).Line(title, "REQUIRED");
            foreach (var item in list) table.Line(item.Name, item.Required ? "true" : "");
            text += table.Format() + "\n";
        }
        return text;
    }
}
