using System.Text.Json.Nodes;
using BuildFarm.Cli.Formatting;

namespace BuildFarm.Tests.Cli;

public sealed class GoTemplateTests
{
    private static readonly JsonNode Image = JsonNode.Parse("""
        {"Id":"sha256:ab","Size":12,"Config":{"Cmd":["sh","-c","x"],"Labels":{"b":"2","a":"1"},"Entrypoint":null,"Volumes":null},
         "RootFS":{"Type":"layers","Layers":["sha256:1"]}}
        """)!;

    private static string Render(string template) => GoTemplate.Parse(template).Render(Image);

    [Fact]
    public void Field_paths_print_as_go_prints_values()
    {
        Assert.Equal("sha256:ab [sh -c x] 12 map[a:1 b:2]", Render("{{.Id}} {{.Config.Cmd}} {{.Size}} {{.Config.Labels}}"));
    }

    [Fact]
    public void Null_lists_and_maps_print_empty_as_docker_prints_nil_ones()
    {
        Assert.Equal("[] map[]", Render("{{.Config.Entrypoint}} {{.Config.Volumes}}"));
    }

    [Fact]
    public void Structs_print_their_values_in_field_order()
    {
        Assert.Equal("{layers [sha256:1]}", Render("{{.RootFS}}"));
    }

    [Fact]
    public void Json_prints_the_value_as_json()
    {
        Assert.Equal("{\"Type\":\"layers\",\"Layers\":[\"sha256:1\"]}", Render("{{json .RootFS}}"));
        Assert.Equal("null", Render("{{json .Config.Entrypoint}}"));
    }

    [Fact]
    public void Index_reads_a_map_key()
    {
        Assert.Equal("2 <no value>", Render("{{index .Config.Labels \"b\"}} {{index .Config.Labels \"zz\"}}"));
    }

    [Fact]
    public void Text_around_actions_is_kept_and_backslash_n_is_a_newline()
    {
        Assert.Equal("id=sha256:ab\n", Render("id={{ .Id }}\\n"));
    }

    [Fact]
    public void An_unknown_field_names_the_field_and_column()
    {
        var error = Assert.Throws<FormatException>(() => Render("x {{.Config.Nope}}"));
        Assert.Contains("no field Nope", error.Message);
        Assert.Contains("column 3", error.Message);
    }

    [Fact]
    public void Unsupported_actions_and_unclosed_braces_are_errors()
    {
        Assert.Contains("unsupported action", Assert.Throws<FormatException>(() => GoTemplate.Parse("{{range .X}}")).Message);
        Assert.Contains("unclosed action", Assert.Throws<FormatException>(() => GoTemplate.Parse("{{.Id")).Message);
    }
}
