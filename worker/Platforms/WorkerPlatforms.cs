using BuildFarm.Oci;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Worker.Platforms;

/// <summary>
/// The platforms this worker's RUN steps can execute: its native one and each foreign one a binfmt_misc handler
/// (QEMU user emulation) runs, plus what the probe found missing, so a step for another platform fails naming it.
/// </summary>
public sealed class WorkerPlatforms(IReadOnlyList<WorkerPlatform> platforms, IReadOnlyList<string> problems)
{
    public IReadOnlyList<WorkerPlatform> Platforms { get; } = platforms;

    /// <summary>What kept an emulator from being usable ("binfmt_misc is not mounted: ...").</summary>
    public IReadOnlyList<string> Problems { get; } = problems;

    /// <summary>True for "" (a step that names no platform: the native one) and for any platform offered.</summary>
    public bool CanRun(string platform) => platform.Length == 0 || Find(platform) is not null;

    public WorkerPlatform? Find(string platform)
    {
        var wanted = Platform.Parse(platform);
        // Native first: a worker that both runs and emulates a platform runs it natively.
        return Platforms.OrderBy(p => p.Emulated).FirstOrDefault(p => Platform.Parse(p.Platform).Matches(wanted));
    }

    /// <summary>The error line for a step this worker cannot run: what it offers and what is missing.</summary>
    public string Missing(string platform)
    {
        var offered = string.Join(", ", Platforms.Select(p => p.Emulated ? $"{p.Platform} (emulated)" : p.Platform));
        var arch = Platform.Parse(platform).Architecture;
        var qemu = QemuArch.Of(arch) ?? arch;
        var hint = $"no binfmt_misc handler for {platform}: install qemu-user-static (scripts/install-deps.sh) and register "
                   + $"/usr/lib/binfmt.d/qemu-{qemu}.conf in /proc/sys/fs/binfmt_misc/register (the worker does this at start when it runs as root)";
        var problems = Problems.Count == 0 ? "" : "; " + string.Join("; ", Problems);
        return $"this worker cannot run {platform} steps: it runs {offered}; {hint}{problems}";
    }

    /// <summary>A worker that was not probed (test doubles): it runs what it is given, as before platforms existed.</summary>
    public static WorkerPlatforms Unprobed { get; } = new([], []);

    public bool IsUnprobed => Platforms.Count == 0;
}
