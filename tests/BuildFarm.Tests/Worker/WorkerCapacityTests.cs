using BuildFarm.Worker.Capacity;

namespace BuildFarm.Tests.Worker;

public sealed class WorkerCapacityTests
{
    [Fact]
    public void Two_cpus_with_plenty_of_memory_get_more_slots_than_cpus() =>
        Assert.Equal(8, WorkerCapacity.DefaultSlots(cpus: 2, availableMemoryBytes: 20L << 30));

    [Fact]
    public void Scarce_memory_bounds_the_slots() =>
        Assert.Equal(3, WorkerCapacity.DefaultSlots(cpus: 16, availableMemoryBytes: 3 * WorkerCapacity.MemoryPerStep));

    [Fact]
    public void Slots_never_go_below_two_nor_above_the_maximum()
    {
        Assert.Equal(WorkerCapacity.MinimumSlots, WorkerCapacity.DefaultSlots(cpus: 1, availableMemoryBytes: 100L << 20));
        Assert.Equal(WorkerCapacity.MaximumSlots, WorkerCapacity.DefaultSlots(cpus: 256, availableMemoryBytes: null));
    }
}
