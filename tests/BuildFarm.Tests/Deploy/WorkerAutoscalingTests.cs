using System.Diagnostics.Metrics;
using BuildFarm.Coordinator.Telemetry;
using YamlDotNet.RepresentationModel;

namespace BuildFarm.Tests.Deploy;

/// <summary>
/// Issue #14 (optional part): deploy/k8s/autoscale scales the worker StatefulSet with KEDA on a metric the farm really
/// exports, under the name Prometheus gives it.
/// </summary>
public sealed class WorkerAutoscalingTests
{
    private static readonly YamlMappingNode ScaledObject = Load();

    [Fact]
    public void The_scaled_object_targets_the_worker_statefulset()
    {
        var target = (YamlMappingNode)Spec()["scaleTargetRef"];
        var workers = KubernetesManifests.Load().Single<k8s.Models.V1StatefulSet>("buildfarm-worker");

        Assert.Equal("StatefulSet", target["kind"].ToString());
        Assert.Equal(workers.Metadata.Name, target["name"].ToString());
        Assert.Equal("buildfarm", ((YamlMappingNode)ScaledObject["metadata"])["namespace"].ToString());
        Assert.True(int.Parse(Spec()["minReplicaCount"].ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 1,
            "never scale to no worker: queued steps would wait for the pool's no-worker timeout");
    }

    [Fact]
    public void The_trigger_queries_the_queued_steps_gauge_the_coordinator_exports()
    {
        var trigger = (YamlMappingNode)((YamlSequenceNode)Spec()["triggers"]).Children.Single();
        var query = ((YamlMappingNode)trigger["metadata"])["query"].ToString();

        Assert.Equal("prometheus", trigger["type"].ToString());
        Assert.Contains("buildfarm.pool.steps.queued", ExportedInstruments());
        Assert.Contains(PrometheusName("buildfarm.pool.steps.queued"), query);
    }

    private static YamlMappingNode Spec() => (YamlMappingNode)ScaledObject["spec"];

    // OpenTelemetry's Prometheus exporter: dots become underscores; a unit in braces ({step}) adds no suffix.
    private static string PrometheusName(string instrument) => instrument.Replace('.', '_');

    private static HashSet<string> ExportedInstruments()
    {
        var names = new HashSet<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) => { if (instrument.Meter.Name == FarmMetrics.MeterName) names.Add(instrument.Name); },
        };
        listener.Start();
        using var metrics = new FarmMetrics();
        return names;
    }

    private static YamlMappingNode Load()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(DeployFolder.Path("k8s", "autoscale", "worker-scaledobject.yaml"))));
        return (YamlMappingNode)yaml.Documents.Single().RootNode;
    }
}
