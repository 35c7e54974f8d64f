using System.Text.Json.Nodes;

namespace BuildFarm.Tests.Ignore;

/// <summary>The project's copy of moby/patternmatcher's transcribed test tables.</summary>
public static class PatternMatcherCorpus
{
    private static readonly Lazy<JsonNode> Root = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "corpus", "moby-patternmatcher", "patternmatcher-cases.json")))!);

    public static JsonObject Section(string name) => Root.Value[name]!.AsObject();

    public static JsonArray Cases(string section) => Section(section)["cases"]!.AsArray();

    public static TheoryData<int> Indexes(string section)
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Cases(section).Count; i++)
            data.Add(i);
        return data;
    }
}
