using System.Diagnostics;
using System.Net.Sockets;
using BuildFarm.Cli.Commands;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli;

/// <summary>
/// The agents of one build's <c>--ssh</c> entries, as buildx provides them: an entry naming an agent socket (or none:
/// $SSH_AUTH_SOCK) uses that agent; an entry naming key files gets an <c>ssh-agent</c> of its own, started for this build
/// with those keys and stopped when it ends. Afterwards each entry names exactly one socket. The keys stay in the agent:
/// a RUN step only ever talks the agent protocol through its mount.
/// </summary>
public sealed class SshAgents : IAsyncDisposable
{
    private readonly List<(Process Agent, string Directory)> _started = [];

    private SshAgents()
    {
    }

    /// <summary>Starts the agents <paramref name="sources"/> need and rewrites each entry to its one socket.</summary>
    public static async Task<SshAgents> StartAsync(IList<SshSource> sources, CancellationToken cancellationToken)
    {
        var agents = new SshAgents();
        try
        {
            foreach (var source in sources)
            {
                if (source.Paths.Count == 1 && await IsSocketAsync(source.Paths[0], cancellationToken)) continue;
                var socket = await agents.StartAgentAsync(source.Id, source.Paths, cancellationToken);
                source.Paths.Clear();
                source.Paths.Add(socket);
            }
            return agents;
        }
        catch
        {
            await agents.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> IsSocketAsync(string path, CancellationToken cancellationToken)
    {
        if (File.Exists(path) && new FileInfo(path).Length > 0) return false; // a key file (a socket has no length)
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task<string> StartAgentAsync(string id, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("buildfarm-ssh-").FullName; // 0700: only this user reaches the agent
        var socket = Path.Combine(directory, "agent.sock");
        var start = new ProcessStartInfo("ssh-agent") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-D", "-a", socket }) start.ArgumentList.Add(a);
        Process agent;
        try
        {
            agent = Process.Start(start) ?? throw new UsageException("--ssh: could not start ssh-agent");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Directory.Delete(directory, recursive: true);
            throw new UsageException($"--ssh {id}: key files need ssh-agent (Debian package openssh-client): {e.Message}");
        }
        _started.Add((agent, directory));
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await IsSocketAsync(socket, cancellationToken))
        {
            if (agent.HasExited || DateTime.UtcNow > deadline)
                throw new UsageException($"--ssh {id}: ssh-agent did not start");
            await Task.Delay(20, cancellationToken);
        }
        foreach (var key in keys)
        {
            var add = new ProcessStartInfo("ssh-add")
            {
                UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            };
            add.ArgumentList.Add(key);
            add.Environment["SSH_AUTH_SOCK"] = socket;
            add.Environment["SSH_ASKPASS_REQUIRE"] = "never"; // a key with a passphrase fails here instead of prompting
            add.Environment.Remove("DISPLAY");
            using var process = Process.Start(add)!;
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
                throw new UsageException($"--ssh {id}: cannot load the key {key}: {(await stderr).Trim()}");
        }
        return socket;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (agent, directory) in _started)
        {
            if (!agent.HasExited)
            {
                agent.Kill();
                await agent.WaitForExitAsync();
            }
            agent.Dispose();
            Directory.Delete(directory, recursive: true);
        }
        _started.Clear();
    }
}
