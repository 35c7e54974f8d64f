namespace BuildFarm.Protos;

/// <summary>
/// Names this machine (and boot), so that a path one node hands another — an ssh agent socket — is used only where that
/// path means the same file: the host name plus the kernel's boot id (two containers or two boots never share it).
/// </summary>
public static class HostIdentity
{
    private static readonly Lazy<string> Value = new(() =>
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

    public static string Current => Value.Value;
}
