using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace BuildFarm.Oci.Registry;

/// <summary>
/// A docker credential helper (<c>docker-credential-NAME</c> on PATH, named by config.json's <c>credsStore</c> or
/// <c>credHelpers</c>), spoken to with its protocol: <c>store</c> (JSON ServerURL/Username/Secret on stdin),
/// <c>get</c> (server URL on stdin, JSON on stdout), <c>erase</c> (server URL on stdin).
/// </summary>
public sealed class CredentialHelper(string name)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public string Program => $"docker-credential-{name}";

    public Task StoreAsync(string serverUrl, string username, string secret, CancellationToken cancellationToken) =>
        RunAsync("store", JsonSerializer.Serialize(new Dictionary<string, string> { ["ServerURL"] = serverUrl, ["Username"] = username, ["Secret"] = secret }), cancellationToken);

    public Task EraseAsync(string serverUrl, CancellationToken cancellationToken) => RunAsync("erase", serverUrl, cancellationToken);

    /// <summary>The stored credential, or null when the helper has none for this server ("credentials not found").</summary>
    public async Task<RegistryCredential?> GetAsync(string serverUrl, CancellationToken cancellationToken)
    {
        string output;
        try
        {
            output = await RunAsync("get", serverUrl, cancellationToken);
        }
        catch (RegistryException e) when (e.Message.Contains("credentials not found", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            using var json = JsonDocument.Parse(output);
            var user = json.RootElement.GetProperty("Username").GetString() ?? "";
            var secret = json.RootElement.GetProperty("Secret").GetString() ?? "";
            // Docker's convention: the user name "<token>" means the secret is an identity token.
            return user == "<token>" ? new RegistryCredential(user, "") { IdentityToken = secret } : new RegistryCredential(user, secret);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new RegistryException($"{Program} get answered something that is not its JSON (Username, Secret): {e.Message}");
        }
    }

    private async Task<string> RunAsync(string verb, string input, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Program, verb)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new RegistryException($"credential helper {Program} (named in config.json) cannot be started: {e.Message}");
        }
        using (process)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                throw new RegistryException($"{Program} {verb} did not answer within {Timeout.TotalSeconds} s");
            }
            if (process.ExitCode != 0)
                throw new RegistryException($"{Program} {verb} failed ({process.ExitCode}): {(await output + await error).Trim()}");
            return await output;
        }
    }
}
