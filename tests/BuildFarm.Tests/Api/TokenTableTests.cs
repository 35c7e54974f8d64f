using BuildFarm.Coordinator.Api.Identity;

namespace BuildFarm.Tests.Api;

public sealed class TokenTableTests
{
    [Fact]
    public void Tokens_map_to_teams_and_the_admin_marker_makes_an_admin()
    {
        var table = TokenTable.Parse("# comment\n\nteam-a-token-0123456789 team-a\r\n  ops-token-0123456789ab\tops admin\n", "tokens");

        Assert.Equal(new Caller("team-a", false), table.Find("team-a-token-0123456789"));
        Assert.Equal(new Caller("ops", true), table.Find("ops-token-0123456789ab"));
        Assert.Null(table.Find("team-a-token-012345678"));
        Assert.Equal(2, table.Count);
    }

    [Theory]
    [InlineData("lonely-token-0123456789\n", "tokens:1: expected \"TOKEN TEAM\" or \"TOKEN TEAM admin\", got 1 fields")]
    [InlineData("# c\nshort team\n", "tokens:2: a token must be 16 to 512 printable ASCII characters (this one has 5)")]
    [InlineData("team-a-token-0123456789 Team_A\n", "tokens:1: team \"Team_A\": expected 1 to 63 of a-z 0-9 . _ - starting with a letter or digit")]
    [InlineData("team-a-token-0123456789 ops root\n", "tokens:1: unknown marker \"root\" (the only one is admin)")]
    [InlineData("team-a-token-0123456789 a\nteam-a-token-0123456789 b\n", "tokens:2: this token is already given on an earlier line")]
    public void A_bad_line_is_refused_naming_the_file_and_line(string text, string expected)
    {
        var e = Assert.Throws<TokenTableException>(() => TokenTable.Parse(text, "tokens"));
        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void Another_team_sees_nothing_of_a_team_and_an_admin_sees_all()
    {
        Assert.True(new Caller("a", false).Sees("a"));
        Assert.False(new Caller("a", false).Sees("b"));
        Assert.True(new Caller("ops", true).Sees("b"));
        Assert.True(Caller.Open.Sees("anyone"));
    }
}
