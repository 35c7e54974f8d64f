using System.Runtime.InteropServices;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Native;

namespace BuildFarm.Worker.Platforms;

/// <summary>
/// Finds, at worker start, the platforms it can run: the native one, and each foreign one whose QEMU handler is
/// registered in binfmt_misc with the F flag (the kernel opens the interpreter at registration, so it works inside a
/// container's root where the interpreter's path does not exist). With no systemd, it mounts binfmt_misc and registers
/// the lines of binfmt.d's qemu-*.conf itself when it may (root); what fails is kept as a problem to report.
/// </summary>
public sealed class PlatformProbe(string binfmtMisc = PlatformProbe.DefaultBinfmtMisc, IReadOnlyList<string>? configDirectories = null)
{
    public const string DefaultBinfmtMisc = "/proc/sys/fs/binfmt_misc";
    private const ulong MsNoSuid = 2, MsNoDev = 4, MsNoExec = 8;

    private readonly IReadOnlyList<string> _configDirectories = configDirectories ?? ["/usr/lib/binfmt.d", "/etc/binfmt.d"];

    public static string NativePlatform => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => "linux/arm64",
        Architecture.Arm => "linux/arm/v7",
        Architecture.X86 => "linux/386",
        Architecture.S390x => "linux/s390x",
        Architecture.Ppc64le => "linux/ppc64le",
        Architecture.RiscV64 => "linux/riscv64",
        _ => "linux/amd64",
    };

    public WorkerPlatforms Detect(bool register)
    {
        try
        {
            return DetectCore(register);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A binfmt_misc this process may not read (a locked-down container) leaves the native platform only.
            return new WorkerPlatforms([new WorkerPlatform { Platform = NativePlatform }], [$"reading {binfmtMisc} failed: {e.Message}"]);
        }
    }

    private WorkerPlatforms DetectCore(bool register)
    {
        var problems = new List<string>();
        var platforms = new List<WorkerPlatform> { new() { Platform = NativePlatform } };
        var registerFile = Path.Combine(binfmtMisc, "register");
        if (!File.Exists(registerFile) && register) TryMount(problems);
        if (!File.Exists(registerFile))
        {
            problems.Add($"binfmt_misc is not mounted at {binfmtMisc} (mount -t binfmt_misc binfmt_misc {binfmtMisc})");
            return new WorkerPlatforms(platforms, problems);
        }
        if (register) RegisterFromConfigs(registerFile, problems);
        if (File.Exists(Path.Combine(binfmtMisc, "status")) && File.ReadAllText(Path.Combine(binfmtMisc, "status")).Trim() != "enabled")
            problems.Add($"binfmt_misc is disabled ({binfmtMisc}/status)");
        foreach (var entry in Directory.EnumerateFiles(binfmtMisc, "qemu-*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(entry);
            if (QemuArch.PlatformOf(name["qemu-".Length..]) is not { } platform || platform == NativePlatform) continue;
            var handler = BinfmtHandler.Read(entry);
            if (!handler.Enabled) { problems.Add($"binfmt_misc handler {name} is disabled"); continue; }
            if (!handler.Flags.Contains('F'))
            {
                problems.Add($"binfmt_misc handler {name} lacks the F flag: its interpreter {handler.Interpreter} is not visible inside a container");
                continue;
            }
            if (platforms.Any(p => p.Platform == platform)) continue;
            platforms.Add(new WorkerPlatform { Platform = platform, Emulated = true, Emulator = handler.Interpreter });
        }
        return new WorkerPlatforms(platforms, problems);
    }

    private void TryMount(List<string> problems)
    {
        if (!Directory.Exists(binfmtMisc)) return;
        if (LinuxNative.Mount("binfmt_misc", binfmtMisc, "binfmt_misc", MsNoSuid | MsNoDev | MsNoExec, null) != 0)
            problems.Add($"mounting binfmt_misc at {binfmtMisc} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Writes each qemu-*.conf line whose handler is not registered yet (a registered one is left as it is).</summary>
    private void RegisterFromConfigs(string registerFile, List<string> problems)
    {
        foreach (var dir in _configDirectories.Where(Directory.Exists))
        foreach (var conf in Directory.EnumerateFiles(dir, "qemu-*.conf").Order(StringComparer.Ordinal))
        foreach (var line in File.ReadAllLines(conf).Select(l => l.Trim()).Where(l => l.Length > 1 && l[0] == ':'))
        {
            var name = line.Split(':')[1];
            if (name.Length == 0 || File.Exists(Path.Combine(binfmtMisc, name))) continue;
            if (QemuArch.PlatformOf(name.StartsWith("qemu-", StringComparison.Ordinal) ? name[5..] : name) is null) continue;
            try
            {
                File.WriteAllText(registerFile, line);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"registering {name} from {conf} failed: {e.Message}");
            }
        }
    }
}
