using BuildFarm.Cli;
using BuildFarm.Cli.Commands;

namespace BuildFarm.Tests.Cli;

public sealed class SshAndBuildContextArgumentTests
{
    [Fact]
    public void Ssh_default_without_agent_names_ssh_auth_sock()
    {
        var e = Assert.Throws<UsageException>(() => BuildArguments.ParseSsh("default", CliEnvironment.From(new Dictionary<string, string>())));

        Assert.Contains("make sure SSH_AUTH_SOCK is set", e.Message);
    }

    [Fact]
    public void Ssh_id_with_keys_keeps_each_path()
    {
        var dir = Directory.CreateTempSubdirectory("bf-ssh-arg-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "a"), "k");
            File.WriteAllText(Path.Combine(dir, "b"), "k");

            var source = BuildArguments.ParseSsh($"deploy={dir}/a,{dir}/b", CliEnvironment.From(new Dictionary<string, string>()));

            Assert.Equal("deploy", source.Id);
            Assert.Equal([Path.Combine(dir, "a"), Path.Combine(dir, "b")], source.Paths);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("base=docker-image://alpine:3", "base", "docker-image://alpine:3")]
    [InlineData("b=target:build", "b", "target:build")]
    public void Build_context_image_and_target_forms_pass_as_written(string value, string name, string source) =>
        Assert.Equal(new KeyValuePair<string, string>(name, source), BuildArguments.ParseBuildContext(value));

    [Theory]
    [InlineData("lib=/nonexistent/dir", "is not a directory")]
    [InlineData("lib=https://example.com/x.tar", "only a folder")]
    [InlineData("lib", "expected NAME=")]
    public void Build_context_errors_name_the_cause(string value, string expected) =>
        Assert.Contains(expected, Assert.Throws<UsageException>(() => BuildArguments.ParseBuildContext(value)).Message);
}
