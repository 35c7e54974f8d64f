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

    [Fact]
    public void Build_asks_only_the_limits_given()
    {
        var (options, parse) = Parse("--run-memory", "512m");

        var asked = options.Asked(parse);

        Assert.NotNull(asked);
        Assert.Null(asked.Pids); // the default 4096 is the worker's, not an ask
        Assert.Equal(512L << 20, asked.MemoryBytes);
        Assert.Null(options.Asked(Parse().Parse));
    }

    [Theory]
    [InlineData(0L, null, null, "--run-pids-limit 0")]
    [InlineData(null, 1024L, null, "--run-memory 1024")]
    [InlineData(null, null, 0.0, "--run-cpus 0")]
    public void Server_refuses_a_bad_asked_limit_naming_it(long? pids, long? memory, double? cpus, string message)
    {
        var limits = new BuildFarm.Protos.V1.RunLimits();
        if (pids is { } p) limits.Pids = p;
        if (memory is { } m) limits.MemoryBytes = m;
        if (cpus is { } c) limits.Cpus = c;

        Assert.StartsWith(message, BuildFarm.Coordinator.Builds.RunLimitsCheck.Problem(limits));
    }
}
