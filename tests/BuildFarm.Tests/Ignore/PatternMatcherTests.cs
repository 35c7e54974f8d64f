using BuildFarm.Coordinator.Dockerfile.Ignore;

namespace BuildFarm.Tests.Ignore;

public class PatternMatcherTests
{
    [Theory]
    [InlineData("**file", "dir/afile", true)] // a leading "**" without a slash is a plain suffix test
    [InlineData("**/file", "dir/afile", false)]
    [InlineData("dir/**", "dir", false)]
    [InlineData("/abs/path", "abs/path", false)] // New keeps the leading slash; the ignore-file reader strips it
    public void Classification_decides_what_a_pattern_matches(string pattern, string path, bool expected) =>
        Assert.Equal(expected, PatternMatcher.Create([pattern]).MatchesOrParentMatches(path));

    [Fact]
    public void Patterns_with_many_stars_match_in_polynomial_time()
    {
        var pm = PatternMatcher.Create(["**/*a*a*a*a*a*a*a*a*a*a*b"]);
        var path = string.Join('/', Enumerable.Repeat(new string('a', 40), 20));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(pm.MatchesOrParentMatches(path));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Reader_strips_a_bom_and_carriage_returns()
    {
        Assert.Equal(["a", "!b/c"], IgnoreFile.ReadAll("\uFEFFa\r\n!  /b/c/ \r\n"));
    }

    [Fact]
    public void Reader_reports_the_line_of_each_pattern()
    {
        var entries = IgnoreFile.ReadEntries("# c\n\nnode_modules\n", ".dockerignore");
        Assert.Equal(new IgnoreFileEntry("node_modules", 3), Assert.Single(entries));
    }
}
