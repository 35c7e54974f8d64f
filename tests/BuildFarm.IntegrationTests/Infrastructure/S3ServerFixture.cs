using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BuildFarm.Cache;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>A real S3 server (Ceph radosgw via scripts/s3-server.sh, memstore) on loopback, started once per test
/// collection on free ports and stopped when the collection ends, pass or fail. The script's watchdog
/// (S3_OWNER_PID) stops it too if this test process dies without disposing.</summary>
public sealed class S3ServerFixture : IAsyncLifetime
{
    public const string AccessKey = "buildfarmtestaccess01";
    public const string SecretKey = "buildfarmtestsecret0000000000000000000001";

    private readonly string _script = Path.Combine(FindRepositoryRoot(), "scripts", "s3-server.sh");
    private readonly string _stateDir = Path.Combine(Path.GetTempPath(), $"buildfarm-s3-{Guid.NewGuid():N}");
    private readonly int _port = FreeTcpPort.Next();
    private readonly int _monPort = FreeTcpPort.Next();
    private readonly int _monV1Port = FreeTcpPort.Next();

    public string Endpoint => $"http://127.0.0.1:{_port}";

    /// <summary>Options for a fresh namespace in the test bucket, so tests do not see each other's blobs.</summary>
    public ContentStoreOptions Options(string? ns = null, string bucket = "buildfarm-test") => new()
    {
        Kind = ContentStoreKind.S3,
        Endpoint = Endpoint,
        Bucket = bucket,
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        Namespace = ns ?? $"t{Guid.NewGuid():N}",
        RequestTimeout = TimeSpan.FromSeconds(10),
        OperationTimeout = TimeSpan.FromSeconds(30),
        MultipartThresholdBytes = 8 << 20, // so that tests exercise both the single PUT and the multipart upload
    };

    public async Task InitializeAsync()
    {
        try { await RunScriptAsync("start", TimeSpan.FromMinutes(3)); }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try { await RunScriptAsync("stop", TimeSpan.FromMinutes(1)); }
        finally
        {
            try { Directory.Delete(_stateDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Stops only radosgw: the endpoint refuses connections, the data stays.</summary>
    public Task StopGatewayAsync() => RunScriptAsync("stop-gateway", TimeSpan.FromMinutes(1));

    public Task StartGatewayAsync() => RunScriptAsync("start-gateway", TimeSpan.FromMinutes(2));

    private async Task RunScriptAsync(string verb, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("bash", [_script, verb])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.Environment["S3_DIR"] = _stateDir;
        psi.Environment["S3_PORT"] = _port.ToString();
        psi.Environment["S3_MON_PORT"] = _monPort.ToString();
        psi.Environment["S3_MON_V1_PORT"] = _monV1Port.ToString();
        psi.Environment["S3_STORE"] = "memstore";
        psi.Environment["S3_STORE_BYTES"] = (4L << 30).ToString();
        psi.Environment["S3_ACCESS_KEY"] = AccessKey;
        psi.Environment["S3_SECRET_KEY"] = SecretKey;
        psi.Environment["S3_OWNER_PID"] = Environment.ProcessId.ToString();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not run {_script}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{_script} {verb} (S3 on {Endpoint}, state {_stateDir}) did not finish within {timeout}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{_script} {verb} (S3 on {Endpoint}, state {_stateDir}) exited {process.ExitCode}: {await stdout}{await stderr}");
    }


    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "scripts", "s3-server.sh"))) return dir.FullName;
        throw new FileNotFoundException($"scripts/s3-server.sh not found above {AppContext.BaseDirectory}");
    }
}
