namespace BuildFarm.Protos;

/// <summary>
/// Names this machine (and boot), so that a path one node hands another — an ssh agent socket — is used only where that
/// path means the same file: the host name plus the kernel's boot id (two containers or two boots never share it).
/// A host may be given another name (the CLI reads BUILDFARM_HOST_IDENTITY): a node in a container that shares the
/// host's kernel but not its files, or a test running "another host" as a process of this machine.
/// </summary>
public static class HostIdentity
{
    public const string Variable = "BUILDFARM_HOST_IDENTITY";

    private static readonly Lazy<string> ThisMachine = new(() =>
    {
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

    /// <summary><paramref name="given"/> when set, else this machine's host name and boot id.</summary>
    public static string Of(string? given) => given is { Length: > 0 } ? given : ThisMachine.Value;
}
