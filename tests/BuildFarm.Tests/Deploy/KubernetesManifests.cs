using k8s;
using k8s.Models;

namespace BuildFarm.Tests.Deploy;

/// <summary>deploy/k8s parsed into the Kubernetes client's model, strictly (an unknown or misspelt field fails).</summary>
public sealed class KubernetesManifests
{
    public IReadOnlyList<object> Objects { get; }

    private KubernetesManifests(IReadOnlyList<object> objects) => Objects = objects;

    public static KubernetesManifests Load()
    {
        var objects = new List<object>();
        foreach (var file in Directory.GetFiles(DeployFolder.Path("k8s"), "*.yaml").Order())
        {
            if (Path.GetFileName(file) == "kustomization.yaml") continue; // kustomize's own kind, not an API object
            try
            {
                objects.AddRange(KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true));
            }
            catch (Exception e)
            {
                throw new InvalidDataException($"{file}: {e.Message}", e);
            }
        }
        return new KubernetesManifests(objects);
    }

    public T Single<T>(string name) where T : IKubernetesObject<V1ObjectMeta> =>
        Objects.OfType<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new InvalidDataException($"deploy/k8s has no {typeof(T).Name} named {name}");
}
