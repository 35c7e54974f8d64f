using BuildFarm.Worker.Platforms;

namespace BuildFarm.Tests.Worker;

/// <summary>The worker's platform probe over a binfmt_misc tree laid out as the kernel prints it (a folder of files
/// here, so no handler of this host changes), and the error it gives for a platform it cannot run.</summary>
public sealed class PlatformProbeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-binfmt-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Binfmt(params (string Name, string Content)[] handlers)
    {
        var dir = Path.Combine(_root, "binfmt_misc");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "register"), "");
        File.WriteAllText(Path.Combine(dir, "status"), "enabled\n");
        foreach (var (name, content) in handlers) File.WriteAllText(Path.Combine(dir, name), content);
        return dir;
    }

    private static string Handler(string interpreter, string flags, bool enabled = true) =>
        $"{(enabled ? "enabled" : "disabled")}\ninterpreter {interpreter}\nflags: {flags}\noffset 0\nmagic 7f454c46\nmask ffffffff\n";

    [Fact]
    public void A_registered_qemu_handler_with_the_F_flag_is_an_emulated_platform()
    {
        var dir = Binfmt(("qemu-aarch64", Handler("/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "POCF")));

        var platforms = new PlatformProbe(dir, []).Detect(register: false);

        Assert.Contains(platforms.Platforms, p => p is { Platform: "linux/amd64", Emulated: false });
        Assert.Contains(platforms.Platforms, p => p is { Platform: "linux/arm64", Emulated: true, Emulator: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" });
        Assert.True(platforms.CanRun("linux/arm64"));
        Assert.False(platforms.CanRun("linux/s390x"));
    }

    [Fact]
    public void A_handler_without_the_F_flag_is_not_offered_and_the_reason_is_kept()
    {
        var dir = Binfmt(("qemu-aarch64", Handler("/usr/bin/qemu-aarch64", "OC")));

        var platforms = new PlatformProbe(dir, []).Detect(register: false);

        Assert.False(platforms.CanRun("linux/arm64"));
        Assert.Contains(platforms.Problems, p => p.Contains("lacks the F flag"));
        Assert.Contains("lacks the F flag", platforms.Missing("linux/arm64"));
    }

    [Fact]
    public void A_disabled_handler_is_not_offered()
    {
        var dir = Binfmt(("qemu-riscv64", Handler("/usr/bin/qemu-riscv64-static", "F", enabled: false)));

        Assert.False(new PlatformProbe(dir, []).Detect(register: false).CanRun("linux/riscv64"));
    }

    [Fact]
    public void Without_binfmt_misc_only_the_native_platform_is_offered_and_the_error_names_what_to_install()
    {
        var platforms = new PlatformProbe(Path.Combine(_root, "absent"), []).Detect(register: false);

        Assert.Equal([PlatformProbe.NativePlatform], platforms.Platforms.Select(p => p.Platform));
        var missing = platforms.Missing("linux/arm64");
        Assert.Contains("cannot run linux/arm64", missing);
        Assert.Contains("qemu-user-static", missing);
        Assert.Contains("qemu-aarch64.conf", missing);
        Assert.Contains("binfmt_misc is not mounted", missing);
    }

    [Fact]
    public void Register_writes_each_unregistered_line_of_binfmt_d_to_the_register_file()
    {
        var dir = Binfmt(("qemu-arm", Handler("/usr/libexec/qemu-binfmt/arm-binfmt-P", "POCF")));
        var confDir = Path.Combine(_root, "binfmt.d");
        Directory.CreateDirectory(confDir);
        const string line = @":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF";
        File.WriteAllText(Path.Combine(confDir, "qemu-aarch64.conf"), line + "\n");
        File.WriteAllText(Path.Combine(confDir, "qemu-arm.conf"), ":qemu-arm:M::\\x7f:\\xff:/usr/libexec/qemu-binfmt/arm-binfmt-P:OPF\n");

        new PlatformProbe(dir, [confDir]).Detect(register: true);

        // The folder stands in for the kernel's register file: it received the one handler that was missing.
        Assert.Equal(line, File.ReadAllText(Path.Combine(dir, "register")));
    }
}
