using BuildFarm.Worker.FileOps;

namespace BuildFarm.Tests.Worker;

public sealed class PathPatternTests
{
    [Theory]
    [InlineData("*.txt", "a.txt", true)]
    [InlineData("*.txt", "a.log", false)]
    [InlineData("?.txt", "ab.txt", false)]
    [InlineData("[ab].txt", "b.txt", true)]
    [InlineData("[^ab].txt", "b.txt", false)]
    [InlineData("[!ab].txt", "c.txt", true)]
    [InlineData("a\\*", "a*", true)]
    [InlineData("a\\*", "ab", false)]
    public void Source_wildcards_match_one_path_component_like_go_filepath_match(string pattern, string name, bool matches) =>
        Assert.Equal(matches, PathPattern.MatchComponent(pattern, name));

    [Theory]
    [InlineData("*.log", "x.log", true)]
    [InlineData("*.log", "sub/x.log", false)]
    [InlineData("**/*.log", "sub/deeper/x.log", true)]
    [InlineData("**/*.log", "x.log", true)]
    [InlineData("sub/**", "sub/a/b", true)]
    [InlineData("/sub/", "sub", true)]
    [InlineData("./sub", "sub", true)]
    public void Exclude_patterns_span_directories_only_with_double_star(string pattern, string path, bool matches) =>
        Assert.Equal(matches, PathPattern.MatchExclude(pattern, path));

    [Fact]
    public void Unterminated_character_class_is_reported() =>
        Assert.Throws<ArgumentException>(() => PathPattern.MatchComponent("[ab", "a"));
}
