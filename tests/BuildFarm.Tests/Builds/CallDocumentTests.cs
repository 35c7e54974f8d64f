using BuildFarm.Coordinator.Builds.Calls;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Builds;

/// <summary>The text and JSON buildx prints for --call=targets|outline (BuildKit's PrintTargets/PrintOutline, Go's tabwriter
/// and json.MarshalIndent). The live comparison with buildx is Conformance.CallsConformanceTests.</summary>
public sealed class CallDocumentTests
{
    [Fact]
    public void Targets_table_pads_every_name_column_and_marks_the_default()
    {
        const string dockerfile = "# build compiles\nFROM scratch AS build\nFROM build AS release\n";

        var result = TargetsDocument.From(StageParser.ParseStages(dockerfile), System.Text.Encoding.UTF8.GetBytes(dockerfile));

        Assert.Equal("TARGET            DESCRIPTION\nbuild             compiles\nrelease (default) \n", result.Text);
    }

    [Fact]
    public void Targets_json_is_gos_indented_marshal_with_the_source()
    {
        const string dockerfile = "FROM scratch\n";

        var result = TargetsDocument.From(StageParser.ParseStages(dockerfile), System.Text.Encoding.UTF8.GetBytes(dockerfile));

        Assert.Equal("""
            {
              "targets": [
                {
                  "default": true,
                  "base": "scratch",
                  "location": {
                    "ranges": [
                      {
                        "start": {
                          "line": 1
                        },
                        "end": {
                          "line": 1
                        }
                      }
                    ]
                  }
                }
              ],
              "sources": [
                "RlJPTSBzY3JhdGNoCg=="
              ]
            }
            """, result.Json);
    }

    [Fact]
    public void Outline_text_has_a_table_per_kind_each_followed_by_an_empty_line()
    {
        var at = new SourceLocation("Dockerfile", 1, 1, 1);
        var outline = new PlanOutline("app", "", [new OutlineArg("VERSION", "1.0", "the version", at), new OutlineArg("X", "", "", at)],
            [new OutlineRequirement("npm", true, at)], [new OutlineRequirement("default", false, at)]);

        var result = OutlineDocument.From(outline, []);

        Assert.Equal("TARGET: app\n\nBUILD ARG   VALUE   DESCRIPTION\nVERSION     1.0     the version\nX                   \n\n" +
                     "SECRET   REQUIRED\nnpm      true\n\nSSH       REQUIRED\ndefault   \n\n", result.Text);
    }

    [Fact]
    public void Go_json_escapes_html_characters_as_go_does()
    {
        Assert.Equal("\"a\\u003cb\\u003e\\u0026\\n\\u0001\"", GoJson.MarshalIndent(System.Text.Json.Nodes.JsonValue.Create("a<b>&\n\u0001")!));
    }
}
