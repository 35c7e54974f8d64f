using BuildFarm.Cli.Containers;
using BuildFarm.Oci.Images;

namespace BuildFarm.Tests.Cli;

public sealed class CommitChangesTests
{
    private static readonly ContainerConfig Base = new() { Cmd = ["sh"], Env = ["PATH=/bin", "A=1"] };

    [Fact]
    public void Cmd_takes_the_json_form_or_wraps_the_shell_form()
    {
        Assert.Equal(["cat", "/x"], CommitChanges.Apply(Base, ["CMD [\"cat\", \"/x\"]"]).Cmd);
        Assert.Equal(["/bin/sh", "-c", "echo hi"], CommitChanges.Apply(Base, ["cmd echo hi"]).Cmd);
    }

    [Fact]
    public void Env_replaces_a_variable_and_label_adds_one()
    {
        var config = CommitChanges.Apply(Base, ["ENV A=2", "LABEL team=farm", "WORKDIR /srv", "USER 1000"]);
        Assert.Equal(["PATH=/bin", "A=2"], config.Env);
        Assert.Equal("farm", config.Labels!["team"]);
        Assert.Equal(("/srv", "1000"), (config.WorkingDir, config.User));
    }

    [Fact]
    public void Instructions_that_would_change_files_are_refused_by_name()
    {
        Assert.Contains("RUN is not supported", Assert.Throws<ArgumentException>(() => CommitChanges.Apply(Base, ["RUN rm -rf /"])).Message);
        Assert.Contains("not a JSON array", Assert.Throws<ArgumentException>(() => CommitChanges.Apply(Base, ["CMD [\"x\""])).Message);
    }
}
