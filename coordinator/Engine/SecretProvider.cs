using Akka.Actor;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// Holds one build's secret values on the node where the client gave them, and hands them only to a worker running a
/// step of that build, sealed to the worker's ephemeral key. The build owns it: it stops when the build ends, and
/// with it the values. Answers only for its own build id, and only the ids it has.
/// </summary>
public sealed class SecretProvider : ReceiveActor
{
    private readonly string _buildId;
    private readonly Dictionary<string, byte[]> _values;

    public SecretProvider(string buildId, IReadOnlyDictionary<string, byte[]> values)
    {
        _buildId = buildId;
        _values = values.ToDictionary(v => v.Key, v => v.Value.ToArray(), StringComparer.Ordinal);
        Receive<SecretsRequest>(request =>
        {
            if (request.BuildId != _buildId)
            {
                Sender.Tell(new SecretsReply { BuildId = request.BuildId, Error = $"this provider serves build {_buildId} only" });
                return;
            }
            try
            {
                var wanted = request.Ids.Distinct().Where(_values.ContainsKey).Select(id => KeyValuePair.Create(id, _values[id]));
                Sender.Tell(SecretSealing.Seal(_buildId, request.PublicKey, wanted));
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                Sender.Tell(new SecretsReply { BuildId = _buildId, Error = "the worker's public key is not usable: " + e.Message });
            }
        });
    }

    public static Props Props(string buildId, IReadOnlyDictionary<string, byte[]> values) =>
        Akka.Actor.Props.Create(() => new SecretProvider(buildId, values));

    protected override void PostStop()
    {
        foreach (var value in _values.Values) System.Security.Cryptography.CryptographicOperations.ZeroMemory(value);
        _values.Clear();
    }
}
