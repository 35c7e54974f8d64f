using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>The build's run options on real runc RUN steps: /etc/hosts, rlimits, /dev/shm, and the network.host entitlement.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class RunOptionsTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private string Probe(string name) => _scratch.Context(name, """
        FROM scratch
        ADD rootfs.tar /
        RUN echo "hosts:$(grep -w db /etc/hosts)" && echo "soft:$(ulimit -Sn) hard:$(ulimit -Hn)" && df -k /dev/shm | tail -1 | awk '{print "shm-kb:" $2}'
        """);

    [Fact]
    public async Task Add_host_ulimit_and_shm_size_reach_the_RUN_container()
    {
        var result = await _scratch.Cli.BuildAsync("--add-host", "db:10.1.2.3", "--ulimit", "nofile=1234:2345", "--shm-size", "128m",
            Probe("probe"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("hosts:10.1.2.3\tdb", result.Stderr);
        Assert.Contains("soft:1234 hard:2345", result.Stderr);
        Assert.Contains("shm-kb:131072", result.Stderr);
    }

    [Fact]
    public async Task Changing_a_hosts_ip_keeps_the_cache_but_changing_the_ulimit_runs_again()
    {
        var context = Probe("keys");
        Assert.Equal(0, (await _scratch.Cli.BuildAsync("--add-host", "db:10.0.0.1", context)).ExitCode);

        var otherIp = await _scratch.Cli.BuildAsync("--add-host", "db:10.0.0.2", context);
        var otherUlimit = await _scratch.Cli.BuildAsync("--add-host", "db:10.0.0.2", "--ulimit", "nofile=100:200", context);

        Assert.Contains("0 steps executed", otherIp.Stderr);
        Assert.Contains("soft:100 hard:200", otherUlimit.Stderr);
    }

    [Fact]
    public async Task Host_network_is_refused_without_the_entitlement_and_runs_with_it()
    {
        var context = _scratch.Context("hostnet", "FROM scratch\nADD rootfs.tar /\nRUN --network=host echo host-net-ran\n");

        var refused = await _scratch.Cli.BuildAsync(context);
        var allowed = await _scratch.Cli.BuildAsync("--allow", "network.host", context);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("network.host is not allowed (RUN --network=host runs only in a build granted it: --allow network.host)", refused.Stderr);
        Assert.Contains("Dockerfile:3", refused.Stderr);
        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Contains("host-net-ran", allowed.Stderr);
    }

    [Fact]
    public async Task Bad_run_option_values_are_usage_errors_before_any_build()
    {
        var result = await _scratch.Cli.BuildAsync("--ulimit", "nofile=20:10", Probe("bad"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--ulimit nofile=20:10: ulimit soft limit must be less than or equal to hard limit: 20 > 10", result.Stderr);
    }

    [Fact]
    public async Task Run_options_travel_to_a_server_and_its_refusal_of_host_network_names_the_server_setting()
    {
        var port = FreeTcpPort.Next();
        using var server = _scratch.Cli.Start("serve", "--listen", $"127.0.0.1:{port}");
        server.StandardInput.Close();
        var stderr = server.StandardError.ReadToEndAsync();
        Assert.Contains("serving on", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1)));
        try
        {
            var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
            var hostNet = _scratch.Context("served-hostnet", "FROM scratch\nADD rootfs.tar /\nRUN --network=host true\n");

            var served = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--add-host", "db:10.9.8.7", "--ulimit", "nofile=321:654",
                "--shm-size", "32m", Probe("served"));
            var refused = await client.BuildAsync("--server", $"127.0.0.1:{port}", "--allow", "network.host", hostNet);

            Assert.True(served.ExitCode == 0, served.ToString());
            Assert.Contains("hosts:10.9.8.7\tdb", served.Stderr);
            Assert.Contains("soft:321 hard:654", served.Stderr);
            Assert.Contains("shm-kb:32768", served.Stderr);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("network.host is not allowed by this server (start it with --allow-insecure-entitlement network.host)", refused.Stderr);
        }
        finally
        {
            await BuildFarmCli.ToolAsync("kill", "-INT", server.Id.ToString());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await server.WaitForExitAsync(timeout.Token);
            await stderr;
        }
    }
}
