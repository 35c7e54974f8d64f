using System.Globalization;

namespace BuildFarm.Worker.Capacity;

/// <summary>
/// How many steps a worker runs at once when nobody says (<c>--slots</c>, <c>slots</c> in farm.json, BUILDFARM_SLOTS cap it).
/// BuildKit runs every independent step at once; a RUN mostly waits on processes and I/O, so CPUs alone are a poor
/// bound (2 slots on 2 CPUs ran three independent stages as 2 then 1). The bound here is what the machine can hold:
/// <see cref="StepsPerCpu"/> per CPU, and no more than one per <see cref="MemoryPerStep"/> of available memory.
/// </summary>
public static class WorkerCapacity
{
    public const int StepsPerCpu = 4;
    public const long MemoryPerStep = 256L << 20;
    public const int MinimumSlots = 2;
    public const int MaximumSlots = 64;

    /// <summary>The default for this machine: its CPUs and the memory available now (MemAvailable, within the
    /// process's memory limit when a cgroup sets one).</summary>
    public static int DefaultSlots() => DefaultSlots(Environment.ProcessorCount, AvailableMemoryBytes());

    public static int DefaultSlots(int cpus, long? availableMemoryBytes)
    {
        var byCpu = (long)Math.Max(1, cpus) * StepsPerCpu;
        var byMemory = availableMemoryBytes is { } bytes ? bytes / MemoryPerStep : long.MaxValue;
        return (int)Math.Clamp(Math.Min(byCpu, byMemory), MinimumSlots, MaximumSlots);
    }

    /// <summary>Available memory in bytes; null when it cannot be read (then memory does not bound the slots).</summary>
    public static long? AvailableMemoryBytes()
    {
        long? available = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
                    available = kib * 1024;
                break;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        // The runtime's view honours a container's memory limit, which /proc/meminfo does not show.
        var limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return available is { } a && limit > 0 ? Math.Min(a, limit) : available ?? (limit > 0 ? limit : null);
    }
}
