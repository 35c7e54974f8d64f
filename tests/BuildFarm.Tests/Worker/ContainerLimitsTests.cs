using BuildFarm.Worker.Execution;

namespace BuildFarm.Tests.Worker;

public sealed class ContainerLimitsTests
{
    private static readonly ContainerLimits Worker = new() { Pids = 4096, MemoryBytes = 2L << 30, Cpus = null };

    [Fact]
    public void Build_asking_less_than_the_worker_gets_what_it_asks()
    {
        var limits = Worker.Clamp(new ContainerLimits { Pids = 64, MemoryBytes = 512L << 20, Cpus = 0.5 });

        Assert.Equal(new ContainerLimits { Pids = 64, MemoryBytes = 512L << 20, Cpus = 0.5 }, limits);
    }

    [Fact]
    public void Build_asking_more_than_the_worker_gets_the_worker_limit()
    {
        var limits = Worker.Clamp(new ContainerLimits { Pids = 100_000, MemoryBytes = 64L << 30 });

        Assert.Equal(4096, limits.Pids);
        Assert.Equal(2L << 30, limits.MemoryBytes);
    }

    [Fact]
    public void Limit_the_build_leaves_out_stays_the_worker_limit()
    {
        var limits = Worker.Clamp(new ContainerLimits { Pids = null, MemoryBytes = null, Cpus = null });

        Assert.Equal(Worker, limits);
        Assert.Equal(Worker, Worker.Clamp(null));
    }

    [Fact]
    public void Limit_of_an_unlimited_worker_is_the_build_ask()
    {
        Assert.Equal(1.5, Worker.Clamp(new ContainerLimits { Pids = null, Cpus = 1.5 }).Cpus);
    }

    [Fact]
    public void Run_limits_message_round_trips_only_the_given_limits()
    {
        var asked = new ContainerLimits { Pids = 64, MemoryBytes = null, Cpus = null };

        var message = RunLimitsMessage.FromAsked(asked);

        Assert.True(message.HasPids);
        Assert.False(message.HasMemoryBytes);
        Assert.Equal(asked, RunLimitsMessage.ToAsked(message));
        Assert.Null(RunLimitsMessage.ToAsked(new BuildFarm.Protos.V1.RunLimits()));
    }
}
