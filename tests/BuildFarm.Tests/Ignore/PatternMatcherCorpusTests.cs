using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile.Ignore;

namespace BuildFarm.Tests.Ignore;

public class PatternMatcherCorpusTests
{
    public static TheoryData<int> MatchesCases => PatternMatcherCorpus.Indexes("matches_table");
    public static TheoryData<int> MultiPatternCases => PatternMatcherCorpus.Indexes("multi_pattern_table");
    public static TheoryData<int> FilepathMatchCases => PatternMatcherCorpus.Indexes("filepath_match_table");
    public static TheoryData<int> CompileCases => PatternMatcherCorpus.Indexes("compile_table");
    public static TheoryData<int> ApiCases => PatternMatcherCorpus.Indexes("api_cases");

    [Theory]
    [MemberData(nameof(MatchesCases))]
    public void Single_pattern_matches_agree_across_all_four_algorithms(int index)
    {
        var c = PatternMatcherCorpus.Cases("matches_table")[index]!;
        var pattern = (string)c["pattern"]!;
        var path = (string)c["path"]!;
        var expected = (bool)c["match"]!;
        var pm = PatternMatcher.Create([pattern]);

        Assert.Equal(expected, pm.MatchesOrParentMatches(path));
        Assert.Equal(expected, WalkWithParentResult(pm, path));
        Assert.Equal(expected, WalkWithParentResults(pm, path));
        Assert.Equal(expected, pm.MatchesUsingParentResults(path, MatchInfo.Empty, out _));
    }

    [Theory]
    [MemberData(nameof(MultiPatternCases))]
    public void Later_patterns_override_earlier_ones(int index)
    {
        var c = PatternMatcherCorpus.Cases("multi_pattern_table")[index]!;
        var patterns = c["patterns"]!.AsArray().Select(p => (string)p!).ToList();
        var path = (string)c["path"]!;
        var expected = (bool)c["match"]!;
        var pm = PatternMatcher.Create(patterns);

        Assert.Equal(expected, pm.MatchesOrParentMatches(path));
        Assert.Equal(expected, WalkWithParentResults(pm, path));
        Assert.Equal(expected, pm.MatchesUsingParentResults(path, MatchInfo.Empty, out _));
    }

    [Theory]
    [MemberData(nameof(FilepathMatchCases))]
    public void Package_level_matches_follows_filepath_match(int index)
    {
        var c = PatternMatcherCorpus.Cases("filepath_match_table")[index]!;
        var pattern = (string)c["pattern"]!;
        var path = (string)c["path"]!;
        var expected = (bool)c["match"]!;
        var error = (string?)c["error"];

        if (error is null)
            Assert.Equal(expected, PatternMatcher.Matches(path, [pattern]));
        else
        {
            Assert.Equal("ErrBadPattern", error);
            var e = Assert.Throws<PatternSyntaxException>(() => PatternMatcher.Matches(path, [pattern]));
            Assert.StartsWith(PatternSyntaxException.BadPatternMessage, e.Message);
        }
    }

    // Our matcher reproduces patternmatcher's classification and the Go regexp text for '/' separators;
    // the windowsRegexp column is not checked because contexts are always slash-separated here.
    [Theory]
    [MemberData(nameof(CompileCases))]
    public void Patterns_are_classified_and_translated_like_patternmatcher(int index)
    {
        var c = PatternMatcherCorpus.Cases("compile_table")[index]!;
        var pattern = PatternMatcher.Create([(string)c["pattern"]!]).Patterns.Single();
        var expectedType = (string)c["matchType"]! switch
        {
            "exactMatch" => PatternMatchType.Exact,
            "prefixMatch" => PatternMatchType.Prefix,
            "suffixMatch" => PatternMatchType.Suffix,
            "regexpMatch" => PatternMatchType.Regexp,
            var other => throw new InvalidDataException($"unknown matchType {other}"),
        };
        Assert.Equal(expectedType, pattern.MatchType);
        Assert.Equal((string?)c["regexp"], pattern.RegexpText);
    }

    [Theory]
    [MemberData(nameof(ApiCases))]
    public void Api_cases_hold(int index)
    {
        var c = PatternMatcherCorpus.Cases("api_cases")[index]!.AsObject();
        var fn = (string)c["fn"]!;
        var patterns = c["patterns"]!.AsArray().Select(p => (string)p!).ToList();
        switch (fn)
        {
            case "Matches":
                var path = (string)c["path"]!;
                if (c["error"] is JsonValue err && (bool)err)
                    Assert.ThrowsAny<FormatException>(() => PatternMatcher.Matches(path, patterns));
                else
                    Assert.Equal((bool)c["match"]!, PatternMatcher.Matches(path, patterns));
                break;
            case "New":
                if (c["error"] is JsonValue newErr && (bool)newErr)
                {
                    Assert.ThrowsAny<FormatException>(() => PatternMatcher.Create(patterns));
                    break;
                }
                var pm = PatternMatcher.Create(patterns);
                if (c["patternCount"] is JsonValue count)
                    Assert.Equal((int)count, pm.Patterns.Count);
                if (c["exclusions"] is JsonValue exclusions)
                    Assert.Equal((bool)exclusions, pm.Exclusions);
                break;
            case "New+MatchesOrParentMatches":
                var matcher = PatternMatcher.Create(patterns);
                var file = (string)c["path"]!;
                Assert.Equal("ErrBadPattern", (string)c["matchError"]!);
                for (var attempt = 0; attempt < 2; attempt++)
                {
                    var e = Assert.Throws<PatternSyntaxException>(() => matcher.MatchesOrParentMatches(file));
                    Assert.StartsWith(PatternSyntaxException.BadPatternMessage, e.Message);
                }
                break;
            default:
                throw new InvalidDataException($"unknown fn {fn}");
        }
    }

    [Fact]
    public void Ignore_file_reader_follows_the_dockerignore_rules()
    {
        var section = PatternMatcherCorpus.Section("ignorefile_readall");
        var expected = section["expected"]!.AsArray().Select(p => (string)p!).ToList();
        Assert.Equal(expected, IgnoreFile.ReadAll((string)section["input"]!));
        Assert.Empty(IgnoreFile.ReadAll(null));
    }

    // MatchesUsingParentResult: the verdict of each parent directory, computed first, feeds its child.
    private static bool WalkWithParentResult(PatternMatcher pm, string path)
    {
        var parentMatched = false;
        foreach (var parent in Parents(path))
            parentMatched = pm.MatchesUsingParentResult(parent, parentMatched);
        return pm.MatchesUsingParentResult(path, parentMatched);
    }

    private static bool WalkWithParentResults(PatternMatcher pm, string path)
    {
        var info = MatchInfo.Empty;
        foreach (var parent in Parents(path))
            pm.MatchesUsingParentResults(parent, info, out info);
        return pm.MatchesUsingParentResults(path, info, out _);
    }

    // The parent directories of a path, outermost first, as upstream's test builds them (filepath.Dir then split).
    private static IEnumerable<string> Parents(string path)
    {
        var parentPath = GoPath.Dir(path);
        if (parentPath == ".")
            yield break;
        var dirs = parentPath.Split('/');
        for (var i = 0; i < dirs.Length; i++)
            yield return string.Join('/', dirs[..(i + 1)]);
    }
}
