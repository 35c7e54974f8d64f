namespace BuildFarm.Protos;

/// <summary>
/// Names this machine (and boot), so that a path one node hands another — an ssh agent socket — is used only where that
/// path means the same file: the host name plus the kernel's boot id (two containers or two boots never share it).
/// BUILDFARM_HOST_IDENTITY names it instead: a node in a container that shares the host's kernel but not its files, or
/// a test running "another host" as a process of this machine.
/// </summary>
public static class HostIdentity
{
    public const string Variable = "BUILDFARM_HOST_IDENTITY";

    private static readonly Lazy<string> Value = new(() =>
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given) return given;
        string boot;
        try
        {
            boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            boot = "";
        }
        return Environment.MachineName + "/" + boot;
    });

    public static string Current => Value.Value;
}
