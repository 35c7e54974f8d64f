using BuildFarm.Coordinator.Planning;

namespace BuildFarm.Tests.Planning;

public sealed class GitSourceTests
{
    [Theory]
    [InlineData("https://example.com/app.git#v1:src", "https://example.com/app.git", "v1", "src")]
    [InlineData("git@github.com:org/app.git#main", "git@github.com:org/app.git", "main", "")]
    [InlineData("ssh://git@host/app#refs/heads/dev:a/b/", "ssh://git@host/app", "refs/heads/dev", "a/b")]
    [InlineData("git://127.0.0.1:9418/app.git", "git://127.0.0.1:9418/app.git", "", "")]
    public void Parse_splits_remote_ref_and_subdir(string text, string remote, string reference, string subdir)
    {
        Assert.Equal(new GitSource(remote, reference, subdir), GitSource.Parse(text));
    }

    [Theory]
    [InlineData("https://example.com/app.git#main", true)]
    [InlineData("https://example.com/app.tar.gz", false)]
    [InlineData("git@host:app", true)]
    [InlineData("src/app.git", false)]
    public void IsGit_knows_the_git_url_forms_buildkit_knows(string text, bool expected) =>
        Assert.Equal(expected, GitSource.IsGit(text));

    [Theory]
    [InlineData("git://host/app.git#main:../etc")]
    [InlineData("git://host/app.git#--upload-pack=x")]
    public void Parse_refuses_a_subdir_leaving_the_repository_or_an_option_as_ref(string text) =>
        Assert.Throws<FormatException>(() => GitSource.Parse(text));

    [Theory]
    [InlineData("ssh://git@example.com:2222/srv/app.git#v1", "example.com", 2222)]
    [InlineData("ssh://example.com/app.git", "example.com", null)]
    [InlineData("git@github.com:org/app.git#main", "github.com", null)]
    public void Ssh_remote_names_the_server_whose_keys_are_scanned(string text, string host, int? port)
    {
        var source = GitSource.Parse(text);

        Assert.True(source.IsSsh);
        Assert.Equal((host, port), source.SshServer());
    }

    [Fact]
    public void Git_and_https_remotes_are_not_over_ssh() =>
        Assert.False(GitSource.Parse("git://h/a.git#main").IsSsh || GitSource.Parse("https://h/a.git").IsSsh);

    [Fact]
    public void Ref_that_is_a_full_commit_id_needs_no_lookup() =>
        Assert.True(GitSource.Parse("git://h/a.git#" + new string('a', 40)).RefIsCommit);
}
