using BuildFarm.Cli;
using BuildFarm.Cli.Commands;

namespace BuildFarm.Tests.Cli;

/// <summary>--call (buildx 0.14+), --print (buildx 0.13, experimental) and --check, as buildx reads them.</summary>
public sealed class CallArgumentTests
{
    [Theory]
    [InlineData("outline", null, "outline", "")]
    [InlineData("targets,format=json", null, "targets", "json")]
    [InlineData(null, "outline,format=json", "outline", "json")]
    [InlineData("build", null, "", "")]
    [InlineData(null, null, "", "")]
    public void Call_and_print_give_the_call_and_its_format(string? call, string? print, string expectedCall, string expectedFormat)
    {
        Assert.Equal((expectedCall, expectedFormat), BuildArguments.ParseCallFunction(call, print, check: false));
    }

    [Theory]
    [InlineData("outline,format=yaml", "format=yaml is not supported")]
    [InlineData("check,format=json", "format=json is supported for outline and targets only")]
    [InlineData("outline,targets", "invalid --call value")]
    [InlineData("outline,depth=2", "invalid --call field: depth=2")]
    [InlineData("describe", "--call describe: unsupported (supported: build, check, outline, targets)")]
    public void Bad_call_values_are_usage_errors_naming_the_part(string call, string message)
    {
        var e = Assert.Throws<UsageException>(() => BuildArguments.ParseCallFunction(call, null, check: false));

        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Check_conflicts_with_another_call()
    {
        var e = Assert.Throws<UsageException>(() => BuildArguments.ParseCallFunction("outline", null, check: true));

        Assert.Contains("--check conflicts with --call=outline", e.Message);
    }
}
