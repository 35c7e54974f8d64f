namespace BuildFarm.Worker.Platforms;

/// <summary>QEMU's names for architectures (qemu-&lt;name&gt; in binfmt.d) and the OCI platforms they run.</summary>
public static class QemuArch
{
    private static readonly (string Qemu, string Platform)[] Table =
    [
        ("aarch64", "linux/arm64"),
        ("arm", "linux/arm/v7"),
        ("x86_64", "linux/amd64"),
        ("i386", "linux/386"),
        ("ppc64le", "linux/ppc64le"),
        ("s390x", "linux/s390x"),
        ("riscv64", "linux/riscv64"),
        ("mips64el", "linux/mips64le"),
        ("loongarch64", "linux/loong64"),
    ];

    /// <summary>The platform a handler named qemu-<paramref name="qemu"/> runs, or null for one we do not map.</summary>
    public static string? PlatformOf(string qemu) => Table.FirstOrDefault(t => t.Qemu == qemu).Platform;

    /// <summary>QEMU's name for an OCI architecture ("arm64" → "aarch64").</summary>
    public static string? Of(string architecture) =>
        Table.FirstOrDefault(t => t.Platform.Split('/')[1] == architecture).Qemu;
}
