using System.Runtime.InteropServices;

namespace BuildFarm.Client;

/// <summary>
/// The managed CLI (<c>buildfarm.dll</c>) that handles everything the native client does not: found beside this binary
/// (<c>../buildfarm.dll</c>, then <c>./buildfarm.dll</c>) or at BUILDFARM_MANAGED_CLI, and run with execv so that it
/// takes over this process (same pid, exit code and signals as if the user had started it).
/// </summary>
public static partial class ManagedCli
{
    /// <summary>Replaces this process with <c>dotnet buildfarm.dll ARGS</c>; returns only when that is impossible
    /// (then with the exit code after printing why).</summary>
    public static int Exec(string[] args)
    {
        var dll = Locate();
        if (dll is null)
        {
            Console.Error.WriteLine($"ERROR: the managed buildfarm CLI (buildfarm.dll) is neither beside {AppContext.BaseDirectory} nor named by BUILDFARM_MANAGED_CLI");
            return 1;
        }
        var dotnet = DotnetHost();
        if (dotnet is null)
        {
            Console.Error.WriteLine("ERROR: no dotnet host to run the managed buildfarm CLI (looked at DOTNET_HOST_PATH, DOTNET_ROOT, PATH, /usr/share/dotnet, /usr/lib/dotnet)");
            return 1;
        }
        var argv = new string?[args.Length + 3];
        argv[0] = dotnet;
        argv[1] = dll;
        args.CopyTo(argv, 2);
        argv[^1] = null; // execv's argv ends with a null pointer
        execv(dotnet, argv);
        var errno = Marshal.GetLastPInvokeError();
        Console.Error.WriteLine($"ERROR: execv {dotnet} {dll}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        return 1;
    }

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable("BUILDFARM_MANAGED_CLI") is { Length: > 0 } named)
            return File.Exists(named) ? Path.GetFullPath(named) : null;
        var here = AppContext.BaseDirectory;
        foreach (var candidate in new[] { Path.Combine(here, "..", "buildfarm.dll"), Path.Combine(here, "buildfarm.dll") })
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        return null;
    }

    private static string? DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "dotnet")))
            return Path.Combine(root, "dotnet");
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "dotnet");
            if (File.Exists(candidate)) return candidate;
        }
        foreach (var candidate in new[] { "/usr/share/dotnet/dotnet", "/usr/lib/dotnet/dotnet" })
            if (File.Exists(candidate)) return candidate;
        return null;
    }

    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int execv(string path, string?[] argv);
}
