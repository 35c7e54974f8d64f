using System.Text.Json.Nodes;

namespace BuildFarm.Tests.Planning;

/// <summary>The project's copy of BuildKit's transcribed dockerfile2llb test tables.</summary>
public static class ConvertCorpus
{
    private static readonly Lazy<JsonNode> Root = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "corpus", "buildkit-dockerfile2llb", "convert-cases.json")))!);

    public static JsonObject Section(string name) => Root.Value[name]!.AsObject();

    public static JsonArray Array(string section, string name = "cases") => Section(section)[name]!.AsArray();

    public static TheoryData<int> Indexes(string section, string name = "cases")
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Array(section, name).Count; i++)
            data.Add(i);
        return data;
    }

    public static List<string> Strings(JsonNode? node) => node!.AsArray().Select(n => (string)n!).ToList();
}
