using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;

namespace BuildFarm.Tests.Engine;

/// <summary>
/// A build with a secret through the real engine (one node: build and step entities, pool, worker actor, secret
/// provider) with every message serialized as a remote send would: the value reaches the step's runner and appears in
/// no serialized message, no step record and no progress event.
/// </summary>
public sealed class SecretLeakTests : IDisposable
{
    private const string SecretValue = "s3cr3t-Value-that-must-not-leak-7f1c";
    private readonly string _root = Directory.CreateTempSubdirectory("bf-leak-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_secret_value_is_in_no_message_that_crosses_nodes_nor_in_the_record_nor_in_progress()
    {
        var cache = ContentStoreFactory.Open(new ContentStoreOptions { Path = Path.Combine(_root, "cache") });
        var options = new EngineOptions
        {
            SystemName = "leak",
            ExtraHocon = $$"""
                akka.actor.serialize-messages = on
                akka.actor.serializers.buildfarm-proto = "{{typeof(RecordingSerializer).AssemblyQualifiedName}}"
                akka.actor.serialization-identifiers."{{typeof(RecordingSerializer).AssemblyQualifiedName}}" = {{ProtobufSerializer.SerializerId}}
                """,
        };
        var node = await EngineNode.StartAsync(options, new CacheStepRecordStore(cache), CancellationToken.None);
        var runner = new SecretCapturingRunner();
        try
        {
            node.System.ActorOf(WorkerActor.Props(runner, "w1", 1), ActorNames.Worker);
            var key = "sha256:" + new string('5', 64);
            var graph = new BuildGraph { FinalNode = 1, NoCache = true };
            graph.Nodes.Add(new GraphNode { Index = 0, IsBase = true, Parent = -1 });
            graph.Nodes.Add(new GraphNode
            {
                Index = 1,
                Parent = 0,
                DisplayName = "[stage-0 1/1] RUN --mount=type=secret,id=token cat /run/secrets/token",
                Location = "Dockerfile:2",
                Definition = new StepDefinition
                {
                    CacheKey = key,
                    KeyInputsJson = """{"instruction":"RUN --mount=type=secret,id=token cat /run/secrets/token"}""",
                    Run = new RunOp { Args = { "cat /run/secrets/token" }, Mounts = { new RunMount { Type = MountType.Secret, Id = "token", Required = true } } },
                },
                Secrets = { new SecretRef { Id = "token", Required = true } },
            });
            var start = new StartBuild { BuildId = "leak-build", Graph = graph, Context = new ContextRef { LocalDir = _root } };
            var secrets = new Dictionary<string, byte[]> { ["token"] = Encoding.UTF8.GetBytes(SecretValue) };

            var messages = new List<object>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await foreach (var message in node.RunBuildAsync(start, secrets, timeout.Token)) messages.Add(message);

            var finished = Assert.IsType<BuildFinished>(messages[^1]);
            Assert.True(finished.Success, finished.Error);
            Assert.Equal(SecretValue, runner.Seen); // the value did reach the step

            var recorder = (RecordingSerializer)node.System.Serialization.FindSerializerForType(typeof(RequestStep));
            var sent = recorder.Sent.ToList();
            foreach (var type in new[] { nameof(RequestStep), nameof(DispatchStep), nameof(ExecuteStep), nameof(SecretsRequest),
                         nameof(StepStarted), nameof(StepCompleted), nameof(StartBuild), nameof(BuildProgress), nameof(BuildFinished) })
                Assert.Contains(sent, s => s.Type == type);
            Assert.All(sent, s => Assert.False(Contains(s.Bytes, SecretValue), $"{s.Type} carries the secret value"));
            // The reply to an ask goes to a temporary ref that serialize-messages skips: check the sealed reply itself.
            using var key2 = SecretSealing.NewKey();
            var reply = SecretSealing.Seal("leak-build", SecretSealing.PublicKeyOf(key2), secrets);
            Assert.False(Contains(Google.Protobuf.MessageExtensions.ToByteArray(reply), SecretValue));
            Assert.Equal(SecretValue, Encoding.UTF8.GetString(SecretSealing.Open(key2, reply)["token"]));

            Assert.All(messages.OfType<BuildProgress>(), p => Assert.DoesNotContain(SecretValue, p.ToString()));
            foreach (var file in Directory.EnumerateFiles(Path.Combine(_root, "cache"), "*", SearchOption.AllDirectories))
                Assert.False(Contains(await File.ReadAllBytesAsync(file), SecretValue), $"{file} holds the secret value");
            Assert.NotNull(await new CacheStepRecordStore(cache).FindAsync(key, CancellationToken.None));
        }
        finally
        {
            await node.DisposeAsync();
            cache.Dispose();
        }
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;

    /// <summary>The production serializer, keeping a copy of every message it writes.</summary>
    public sealed class RecordingSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
    {
        private readonly ProtobufSerializer _inner = new(system);

        public ConcurrentQueue<(string Type, byte[] Bytes)> Sent { get; } = new();

        public override int Identifier => _inner.Identifier;

        public override byte[] ToBinary(object obj)
        {
            var bytes = _inner.ToBinary(obj);
            Sent.Enqueue((obj.GetType().Name, bytes));
            return bytes;
        }

        public override string Manifest(object o) => _inner.Manifest(o);

        public override object FromBinary(byte[] bytes, string manifest) => _inner.FromBinary(bytes, manifest);
    }

    /// <summary>A step runner that remembers the secret value it was given and makes no layer.</summary>
    private sealed class SecretCapturingRunner : IStepRunner
    {
        public string? Seen { get; private set; }

        public Task<StepResult> RunAsync(StepDefinition definition, StepInputs inputs, IReadOnlyDictionary<string, byte[]> secrets,
            IStepOutput output, CancellationToken cancellationToken)
        {
            Seen = secrets.TryGetValue("token", out var value) ? Encoding.UTF8.GetString(value) : null;
            output.Write(1, "ran with a secret of " + (value?.Length ?? 0) + " bytes");
            return Task.FromResult(new StepResult { CacheKey = definition.CacheKey, EmptyLayer = true });
        }
    }
}
