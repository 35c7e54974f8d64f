using System.CommandLine;
using BuildFarm.Cli.Commands;

namespace BuildFarm.Tests.Cli;

public sealed class RunLimitOptionsTests
{
    private static (RunLimitOptions Options, ParseResult Parse) Parse(params string[] args)
    {
        var options = new RunLimitOptions();
        var command = new RootCommand();
        foreach (var option in options.All) command.Options.Add(option);
        return (options, command.Parse(args));
    }

    [Fact]
    public void Limits_are_read_with_size_suffixes()
    {
        var (options, parse) = Parse("--run-pids-limit", "100", "--run-memory", "512m", "--run-cpus", "1.5");

        var limits = options.Parse(parse);

        Assert.Equal(100, limits.Pids);
        Assert.Equal(512L << 20, limits.MemoryBytes);
        Assert.Equal(1.5, limits.Cpus);
    }

    [Fact]
    public void No_flags_give_the_default_pids_limit_and_no_memory_or_cpu_limit()
    {
        var (options, parse) = Parse();

        Assert.Equal(BuildFarm.Worker.Execution.ContainerLimits.Default, options.Parse(parse));
        Assert.Null(options.Parse(parse).MemoryBytes);
    }

    [Theory]
    [InlineData("--run-memory", "lots", "--run-memory lots: expected a size")]
    [InlineData("--run-memory", "1k", "--run-memory 1k: memory limit 1024 bytes is below")]
    [InlineData("--run-pids-limit", "0", "--run-pids-limit 0: expected a positive number")]
    [InlineData("--run-cpus", "0", "--run-cpus 0: expected a number of cores")]
    public void Bad_limit_is_a_usage_error_naming_the_flag(string flag, string value, string message)
    {
        var (options, parse) = Parse(flag, value);

        Assert.StartsWith(message, Assert.Throws<UsageException>(() => options.Parse(parse)).Message);
    }
}
