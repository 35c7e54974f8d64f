using System.Globalization;
using BuildFarm.Worker.Capacity;

namespace BuildFarm.Cli;

/// <summary>The embedded worker's slots: BUILDFARM_SLOTS when set (as for the hosts), else what the machine can hold.</summary>
public static class EmbeddedSlots
{
    public const string Variable = "BUILDFARM_SLOTS";

    public static int From(CliEnvironment environment)
    {
        if (environment.Variable(Variable) is not { Length: > 0 } text) return WorkerCapacity.DefaultSlots();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var slots) && slots is >= 1 and <= 1024
            ? slots
            : throw new InvalidOperationException($"{Variable}={text}: expected a number of slots from 1 to 1024");
    }
}
