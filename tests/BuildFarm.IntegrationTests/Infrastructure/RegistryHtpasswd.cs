using System.Diagnostics;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>Makes bcrypt htpasswd lines (the only hash distribution accepts) with apache2-utils' htpasswd.</summary>
public static class RegistryHtpasswd
{
    public static async Task<string> CreateEntryAsync(string username, string password, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo("htpasswd", ["-Bbn", username, password])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start htpasswd (install apache2-utils)");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"htpasswd -Bbn failed ({process.ExitCode}): {await stderr}");
        return (await stdout).Trim() + "\n";
    }
}
