using System.Collections;
using System.Diagnostics;
using System.Text.RegularExpressions;
using BuildFarm.Cache;
using BuildFarm.Cli;
using BuildFarm.Cli.Hosting;
using k8s;
using k8s.Models;

namespace BuildFarm.Tests.Deploy;

/// <summary>
/// Issue #14: the Kubernetes manifests parse into the client model, and what they name (images, ports, probes,
/// environment, secrets, labels) is what the hosts and the image Dockerfiles accept: each test reads both sides.
/// </summary>
public sealed partial class KubernetesManifestsTests : IDisposable
{
    private const string PodIp = "10.42.0.7";
    private const string StandInTokens = "0123456789abcdef0123456789abcdef ops admin\n";
    private readonly string _home = Directory.CreateTempSubdirectory("bf-k8s-").FullName;
    private readonly KubernetesManifests _manifests = KubernetesManifests.Load();

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public void Every_manifest_object_parses_into_the_Kubernetes_model()
    {
        var kinds = _manifests.Objects.Cast<IKubernetesObject>().Select(o => $"{o.ApiVersion}/{o.Kind}").Order().ToList();

        Assert.Equal(
        [
            "apps/v1/Deployment", "apps/v1/StatefulSet", "apps/v1/StatefulSet", "policy/v1/PodDisruptionBudget", "policy/v1/PodDisruptionBudget",
            "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding",
            "v1/Namespace", "v1/Secret", "v1/Service", "v1/Service", "v1/ServiceAccount",
        ], kinds);
    }

    [Fact]
    public async Task Kustomize_renders_every_object_into_the_namespace_with_the_generated_secrets()
    {
        var copy = Path.Combine(_home, "k8s");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(DeployFolder.Path("k8s"), "*.yaml")) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        await File.WriteAllBytesAsync(Path.Combine(copy, "farm.p12"), [0x30, 0x82, 0x01, 0x00]);
        await File.WriteAllTextAsync(Path.Combine(copy, "tokens"), StandInTokens);

        var rendered = KubernetesYaml.LoadAllFromString(await KubectlAsync("kustomize", copy), strict: true);

        Assert.Equal(_manifests.Objects.Count + 2, rendered.Count);
        var remoting = rendered.OfType<V1Secret>().Single(s => s.Metadata.Name == "buildfarm-remoting");
        Assert.Equal([0x30, 0x82, 0x01, 0x00], remoting.Data["farm.p12"]);
        var tokens = rendered.OfType<V1Secret>().Single(s => s.Metadata.Name == "buildfarm-tokens");
        Assert.Equal(StandInTokens, System.Text.Encoding.UTF8.GetString(tokens.Data["tokens"]));
        Assert.All(rendered.Cast<IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1Namespace),
            o => Assert.Equal("buildfarm", o.Metadata.NamespaceProperty));
    }

    [Fact]
    public void Coordinator_pods_name_what_the_coordinator_host_and_image_accept()
    {
        var deployment = _manifests.Single<V1Deployment>("buildfarm-coordinator");
        var container = deployment.Spec.Template.Spec.Containers.Single();

        var settings = HostSettings(deployment.Spec.Template.Spec, container, HostRole.Coordinator);

        Assert.Equal("buildfarm/coordinator", container.Image.Split(':')[0]);
        Assert.Equal((ClusterDiscovery.Kubernetes, PodIp), (settings.Discovery, settings.PublicHostname));
        Assert.Equal(settings.Listen.Port, Port(container, "grpc"));
        Assert.Equal(settings.RemotingPort, Port(container, "remoting"));
        Assert.Equal(settings.ManagementPort, Port(container, "management"));
        Assert.Equal((settings.Listen.Port, settings.Listen.Port), (container.ReadinessProbe.Grpc.Port, container.LivenessProbe.Grpc.Port));
        Assert.Subset(Exposed("coordinator"), new HashSet<int> { settings.Listen.Port, settings.RemotingPort });
        var service = _manifests.Single<V1Service>("buildfarm");
        Assert.Equal("grpc", service.Spec.Ports.Single().TargetPort.Value);
        Assert.True(Matches(service.Spec.Selector, deployment.Spec.Template.Metadata.Labels));
        // bootstrap finds exactly these pods (the selector's labels are theirs) on the port named "management"
        Assert.True(Matches(Labels(settings.PodLabelSelector), deployment.Spec.Template.Metadata.Labels));
        Assert.True(deployment.Spec.Replicas >= settings.RequiredContactPoints);
        AssertCanListPods(deployment.Spec.Template.Spec.ServiceAccountName);
        AssertRemotingCertificateMounted(deployment.Spec.Template.Spec, container);
        Assert.True(deployment.Spec.Template.Spec.TerminationGracePeriodSeconds >= 45, "a leave takes up to 30 s after SIGTERM");
    }

    [Fact]
    public void Worker_pods_name_what_the_worker_host_and_image_accept()
    {
        var set = _manifests.Single<V1StatefulSet>("buildfarm-worker");
        var pod = set.Spec.Template.Spec;
        var container = pod.Containers.Single();

        var settings = HostSettings(pod, container, HostRole.Worker);

        Assert.Equal("buildfarm/worker", container.Image.Split(':')[0]);
        Assert.Equal(ClusterDiscovery.Kubernetes, settings.Discovery);
        Assert.Equal(settings.HealthListen.Port, Port(container, "health"));
        Assert.Equal(settings.RemotingPort, Port(container, "remoting"));
        Assert.Equal((settings.HealthListen.Port, settings.HealthListen.Port), (container.ReadinessProbe.Grpc.Port, container.LivenessProbe.Grpc.Port));
        Assert.Subset(Exposed("worker"), new HashSet<int> { settings.HealthListen.Port, settings.RemotingPort });
        Assert.True(container.SecurityContext.Privileged, "runc needs a privileged worker");
        Assert.NotNull(container.Resources.Requests["cpu"]);
        // the snapshot root (the home) is an emptyDir, not the container's overlay root
        var home = container.VolumeMounts.Single(m => m.MountPath == DockerfileEnv("worker")["BUILDFARM_HOME"]);
        Assert.NotNull(pod.Volumes.Single(v => v.Name == home.Name).EmptyDir);
        var coordinators = _manifests.Single<V1Deployment>("buildfarm-coordinator").Spec.Template.Metadata.Labels;
        Assert.True(Matches(Labels(settings.PodLabelSelector), coordinators), "workers bootstrap from the coordinator pods");
        AssertCanListPods(pod.ServiceAccountName);
        AssertRemotingCertificateMounted(pod, container);
        Assert.True(pod.TerminationGracePeriodSeconds >= 45, "running steps get 15 s and the host up to 30 s after SIGTERM");
    }

    [Fact]
    public void Coordinator_pods_read_the_api_tokens_from_the_generated_secret()
    {
        var pod = _manifests.Single<V1Deployment>("buildfarm-coordinator").Spec.Template.Spec;
        var container = pod.Containers.Single();

        var settings = HostSettings(pod, container, HostRole.Coordinator);

        Assert.NotNull(settings.TokensFile);
        var path = container.Env.Single(e => e.Name == "BUILDFARM_TOKENS").Value;
        var mount = container.VolumeMounts.Single(m => path.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
        Assert.True(mount.ReadOnlyProperty);
        Assert.Equal("buildfarm-tokens", pod.Volumes.Single(v => v.Name == mount.Name).Secret.SecretName);
        var kustomization = File.ReadAllText(DeployFolder.Path("k8s", "kustomization.yaml"));
        Assert.Matches($@"- name: buildfarm-tokens\s+files: \[{Regex.Escape(Path.GetFileName(path))}\]", kustomization);
    }

    [Theory]
    [InlineData("coordinator")]
    [InlineData("worker")]
    public void Pods_serve_prometheus_metrics_where_their_annotations_say(string component)
    {
        var template = component == "coordinator"
            ? _manifests.Single<V1Deployment>("buildfarm-coordinator").Spec.Template
            : _manifests.Single<V1StatefulSet>("buildfarm-worker").Spec.Template;
        var container = template.Spec.Containers.Single();

        var settings = HostSettings(template.Spec, container, component == "coordinator" ? HostRole.Coordinator : HostRole.Worker);

        Assert.NotNull(settings.MetricsListen);
        Assert.Equal("true", template.Metadata.Annotations["prometheus.io/scrape"]);
        Assert.Equal(settings.MetricsListen!.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), template.Metadata.Annotations["prometheus.io/port"]);
        Assert.Equal(settings.MetricsListen.Port, Port(container, "metrics"));
    }

    [Fact]
    public void Every_secret_the_pods_read_is_defined_with_that_key()
    {
        var secrets = _manifests.Objects.OfType<V1Secret>().ToDictionary(s => s.Metadata.Name, s => s.StringData.Keys.ToHashSet());
        var containers = _manifests.Objects.OfType<V1Deployment>().SelectMany(d => d.Spec.Template.Spec.Containers)
            .Concat(_manifests.Objects.OfType<V1StatefulSet>().SelectMany(s => s.Spec.Template.Spec.Containers));
        var references = containers.SelectMany(c => c.Env ?? []).Where(e => e.ValueFrom?.SecretKeyRef is not null).Select(e => e.ValueFrom.SecretKeyRef).ToList();

        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.True(secrets.TryGetValue(r.Name, out var keys) && keys.Contains(r.Key), $"secret {r.Name} key {r.Key} is not defined"));
    }

    /// <summary>The container's environment (the pod IP for a fieldRef, a stand-in for a secret) through the host's own
    /// settings loader and store options: what the host would refuse fails here.</summary>
    private FarmSettings HostSettings(V1PodSpec pod, V1Container container, HostRole role)
    {
        var image = DockerfileEnv(role == HostRole.Coordinator ? "coordinator" : "worker");
        var table = new Hashtable();
        foreach (var (name, value) in image) table[name] = value;
        foreach (var env in container.Env)
        {
            table[env.Name] = env.Value ?? env.ValueFrom switch
            {
                { FieldRef.FieldPath: "status.podIP" } => PodIp,
                { SecretKeyRef: not null } => "secret-from-kubernetes",
                _ => throw new InvalidDataException($"{container.Name}: {env.Name} has no value this test knows how to resolve"),
            };
            Assert.True(!env.Name.StartsWith(FarmSettingsLoader.EnvironmentPrefix, StringComparison.Ordinal)
                        || FarmSettingsLoader.Keys.Contains(env.Name[FarmSettingsLoader.EnvironmentPrefix.Length..].ToLowerInvariant().Replace('_', '-'))
                        || env.Name is "BUILDFARM_CACHE" or "BUILDFARM_REMOTING_CERT",
                $"{container.Name}: {env.Name} is not a variable the host reads");
        }
        table["BUILDFARM_HOME"] = _home; // the image's home, somewhere this test may write
        if (table["BUILDFARM_TOKENS"] is string tokens)
        {
            // the host opens the file it names: a stand-in where the pod would have its secret volume
            Assert.Contains(container.VolumeMounts, m => tokens.StartsWith(m.MountPath + "/", StringComparison.Ordinal)
                && pod.Volumes.Single(v => v.Name == m.Name).Secret is not null);
            var standIn = Path.Combine(_home, "tokens");
            File.WriteAllText(standIn, StandInTokens);
            table["BUILDFARM_TOKENS"] = standIn;
        }
        var environment = CliEnvironment.From(table);
        Assert.Equal(ContentStoreKind.S3, environment.Store.Kind);
        Assert.NotNull(environment.Store.SecretKey);
        Assert.True(environment.FarmRemotingCertificate, "every node needs the farm's remoting certificate");
        return FarmSettingsLoader.Load(environment, role, new Dictionary<string, string>(), configFile: null);
    }

    private static int Port(V1Container container, string name) =>
        container.Ports.SingleOrDefault(p => p.Name == name)?.ContainerPort ?? throw new InvalidDataException($"{container.Name} has no port named {name}");

    private static bool Matches(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    private static Dictionary<string, string> Labels(string selector) =>
        selector.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());

    private void AssertCanListPods(string serviceAccount)
    {
        var binding = _manifests.Objects.OfType<V1RoleBinding>().Single(b => b.Subjects.Any(s => s.Kind == "ServiceAccount" && s.Name == serviceAccount));
        var role = _manifests.Single<V1Role>(binding.RoleRef.Name);
        Assert.Contains(role.Rules, r => r.Resources.Contains("pods") && r.Verbs.Contains("list") && r.Verbs.Contains("watch"));
        Assert.NotNull(_manifests.Objects.OfType<V1ServiceAccount>().SingleOrDefault(a => a.Metadata.Name == serviceAccount));
    }

    private static void AssertRemotingCertificateMounted(V1PodSpec pod, V1Container container)
    {
        var path = container.Env.Single(e => e.Name == "BUILDFARM_REMOTING_CERT").Value;
        var mount = container.VolumeMounts.Single(m => path.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
        var volume = pod.Volumes.Single(v => v.Name == mount.Name);
        Assert.Equal("buildfarm-remoting", volume.Secret.SecretName);
        Assert.Equal("farm.p12", Path.GetFileName(path));
        var kustomization = File.ReadAllText(DeployFolder.Path("k8s", "kustomization.yaml"));
        Assert.Matches(@"- name: buildfarm-remoting\s+files: \[farm.p12\]", kustomization);
    }

    // ENV NAME=value pairs of deploy/images/NAME/Dockerfile (continuation lines included).
    private static Dictionary<string, string> DockerfileEnv(string image) =>
        EnvPair().Matches(File.ReadAllText(DeployFolder.Path("images", image, "Dockerfile")))
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    private static HashSet<int> Exposed(string image) =>
        [.. File.ReadAllLines(DeployFolder.Path("images", image, "Dockerfile")).Where(l => l.StartsWith("EXPOSE ", StringComparison.Ordinal))
            .SelectMany(l => l[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse)];

    private static async Task<string> KubectlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("kubectl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl (Debian's kubernetes-client) is not installed");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(process.ExitCode == 0, $"kubectl {string.Join(' ', args)}: {await stderr}");
        return await stdout;
    }

    [GeneratedRegex(@"\b(BUILDFARM_[A-Z_]+|PATH)=(\S+)")]
    private static partial Regex EnvPair();
}
