using BuildFarm.IntegrationTests.Infrastructure;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using BuildFarm.IntegrationTests.Otlp;
using BuildFarm.IntegrationTests.Telemetry;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>`buildfarm serve` with <c>--metrics-listen</c> and <c>--otlp-endpoint</c>: Prometheus text on /metrics and a
/// trace per build in a real OTLP/gRPC receiver, after real builds through the server.</summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ObservabilityTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();


    private static long Sum(string metrics, string name) =>
        metrics.Split('\n').Select(line => Sample().Match(line)).Where(m => m.Success && m.Groups["name"].Value == name)
            .Sum(m => (long)double.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_]+?)(_total)?(\{[^}]*\})? (?<value>[0-9.eE+-]+)")]
    private static partial Regex Sample();

    private static AnyValue Attribute(Span span, string key) =>
        span.Attributes.FirstOrDefault(a => a.Key == key)?.Value ?? new AnyValue();

    [Fact]
    public async Task Metrics_count_executed_and_cached_steps_and_each_build_exports_one_span_per_step()
    {
        await using var receiver = await OtlpTraceReceiver.StartAsync();
        var (api, metricsPort) = (FreeTcpPort.Next(), FreeTcpPort.Next());
        var server = HostProcess.Start(_scratch.Cli, "buildfarm serving on", "serve", "--listen", $"127.0.0.1:{api}",
            "--metrics-listen", $"127.0.0.1:{metricsPort}", "--otlp-endpoint", receiver.Endpoint.ToString());
        await using var _ = server;
        await server.ReadyAsync(TimeSpan.FromMinutes(1));
        var context = _scratch.Context("ctx", $"FROM scratch\nADD rootfs.tar /\nRUN echo {Guid.NewGuid():N} > /id\n");
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client"));

        var first = await client.BuildAsync("--server", $"127.0.0.1:{api}", context);
        var second = await client.BuildAsync("--server", $"127.0.0.1:{api}", context);

        Assert.True(first.ExitCode == 0, $"{first}\n--- server\n{server}");
        Assert.True(second.ExitCode == 0, $"{second}\n--- server\n{server}");
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics");
        Assert.Equal(2, Sum(metrics, "buildfarm_steps_executed"));
        Assert.Equal(2, Sum(metrics, "buildfarm_steps_cached"));
        Assert.True(Sum(metrics, "buildfarm_store_written_bytes") > 0, metrics);
        Assert.Contains("buildfarm_pool_worker_slots", metrics);
        Assert.Contains("buildfarm_step_queue_wait_seconds_count", metrics);

        // Both builds' traces: exported in batches about every second.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (receiver.Spans.Count(s => s.Name == "build") < 2 && DateTime.UtcNow < deadline) await Task.Delay(200);
        var spans = receiver.Spans.ToList();
        var builds = spans.Where(s => s.Name == "build").OrderBy(s => s.StartTimeUnixNano).ToList();
        Assert.Equal(2, builds.Count);
        var steps = builds.Select(b => spans.Where(s => s.ParentSpanId == b.SpanId && s.TraceId == b.TraceId).ToList()).ToList();
        var names = string.Join("; ", spans.Select(s => $"{s.Name} [{string.Join(", ", s.Attributes.Select(a => $"{a.Key}={a.Value}"))}]"));
        Assert.True(steps.All(s => s.Count == 2), names);
        Assert.All(steps[0], s => Assert.False(Attribute(s, "buildfarm.step.cache_hit").BoolValue, names));
        Assert.All(steps[0], s => Assert.NotEqual("", Attribute(s, "buildfarm.step.worker").StringValue));
        Assert.All(steps[1], s => Assert.True(Attribute(s, "buildfarm.step.cache_hit").BoolValue, names));
        Assert.Contains(steps[0], s => s.Name.Contains("RUN"));
        // An executed step's time split into its phases: queue wait, execution, then the layer's upload to the store.
        foreach (var step in steps[0])
        {
            var phases = spans.Where(p => p.ParentSpanId == step.SpanId && p.TraceId == step.TraceId).ToList();
            Assert.True(new[] { "queue wait", "execution", "upload" }.All(n => phases.Any(p => p.Name == n)), names);
            var upload = phases.Single(p => p.Name == "upload");
            var execution = phases.Single(p => p.Name == "execution");
            Assert.True(upload.StartTimeUnixNano >= execution.EndTimeUnixNano && upload.EndTimeUnixNano <= step.EndTimeUnixNano, names);
            Assert.True(Attribute(step, "buildfarm.step.upload_ms").IntValue >= 0 && step.Attributes.Any(a => a.Key == "buildfarm.step.upload_ms"), names);
            Assert.True(step.Attributes.Any(a => a.Key == "buildfarm.step.queue_wait_ms"), names);
        }
        // A cached step did no work: no phases.
        Assert.All(steps[1], s => Assert.DoesNotContain(spans, p => p.ParentSpanId == s.SpanId));
    }
}
