using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Api.Identity;

namespace BuildFarm.Tests.Api;

public sealed class ImageTeamsTests : IDisposable
{
    private const string Image = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-image-teams-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void An_image_is_seen_by_the_teams_that_built_it_and_by_an_admin_only()
    {
        var teams = new ImageTeams(null);
        teams.Claim(Image, "team-a");

        Assert.True(teams.Sees(new Caller("team-a", false), Image));
        Assert.False(teams.Sees(new Caller("team-b", false), Image));
        Assert.True(teams.Sees(new Caller("ops", true), Image));
        Assert.True(teams.Sees(Caller.Open, Image));
    }

    [Fact]
    public void An_image_two_teams_built_is_removed_only_when_the_last_lets_go()
    {
        var teams = new ImageTeams(null);
        teams.Claim(Image, "team-a");
        teams.Claim(Image, "team-b");

        Assert.False(teams.Disown(Image, "team-a"));
        Assert.False(teams.Sees(new Caller("team-a", false), Image));
        Assert.True(teams.Sees(new Caller("team-b", false), Image));
        Assert.True(teams.Disown(Image, "team-b"));
    }

    [Fact]
    public void Owners_survive_a_restart_and_a_broken_file_names_itself()
    {
        var path = Path.Combine(_dir, "image-teams.json");
        new ImageTeams(path).Claim(Image, "team-a");

        Assert.True(new ImageTeams(path).Sees(new Caller("team-a", false), Image));
        File.WriteAllText(path, "{ not json");
        var broken = Assert.Throws<InvalidDataException>(() => new ImageTeams(path));
        Assert.Contains(path, broken.Message);
    }
}
