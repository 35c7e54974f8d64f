using Akka.Actor;
using Akka.Serialization;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using Google.Protobuf;

namespace BuildFarm.Tests.Engine;

public class ProtobufSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    public ProtobufSerializerTests() : base(TestKitConfig.With(EngineConfig.Create(new EngineOptions()).WithFallback("akka.actor.provider = local")))
    {
    }

    [Fact]
    public void Cluster_messages_are_bound_to_the_protobuf_serializer()
    {
        var serializer = Sys.Serialization.FindSerializerFor(new RequestStep());
        Assert.IsType<ProtobufSerializer>(serializer);
        Assert.Equal(ProtobufSerializer.SerializerId, serializer.Identifier);
    }

    [Fact]
    public void Step_request_survives_a_round_trip_with_its_full_protobuf_name_as_manifest()
    {
        var request = new RequestStep
        {
            NoCache = true,
            Definition = new StepDefinition
            {
                CacheKey = "sha256:" + new string('a', 64),
                Run = new RunOp { Args = { "/bin/sh", "-c", "echo hi" }, Mounts = { new RunMount { Type = MountType.Secret, Id = "token" } } },
            },
            Inputs = new StepInputs
            {
                BuildId = "b1",
                Context = new ContextRef { ManifestDigest = "sha256:" + new string('d', 64) },
                ParentLayers = { new LayerRef { Digest = "sha256:" + new string('b', 64), Size = 42, DiffId = "sha256:" + new string('c', 64) } },
                Secrets = { new SecretRef { Id = "token", Target = "/run/secrets/token", Mode = 0400 } },
            },
        };
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(request);
        var manifest = serializer.Manifest(request);
        var copy = serializer.FromBinary(serializer.ToBinary(request), manifest);
        Assert.Equal("buildfarm.cluster.v1.RequestStep", manifest);
        Assert.Equal(request, copy);
    }

    [Fact]
    public void Unknown_manifest_is_rejected()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new RequestStep());
        Assert.ThrowsAny<Exception>(() => serializer.FromBinary([], "buildfarm.cluster.v1.NoSuchMessage"));
    }

    [Fact]
    public async Task Messages_sent_between_actors_are_serialized_when_serialize_messages_is_on()
    {
        // serialize-messages makes every local Tell go through the serializer, as a remote send would.
        var sys = ActorSystem.Create("serialize", EngineConfig.Create(new EngineOptions())
            .WithFallback("akka.actor.provider = local\nakka.actor.serialize-messages = on"));
        try
        {
            var probe = new Akka.TestKit.TestProbe(sys, new Akka.TestKit.Xunit2.XunitAssertions());
            var progress = new BuildProgress { BuildId = "b", Event = new Protos.V1.ProgressEvent { Name = "[a 1/2] RUN x", Kind = Protos.V1.ProgressEvent.Types.Kind.Started } };
            probe.Ref.Tell(progress);
            var received = probe.ExpectMsg<BuildProgress>();
            Assert.NotSame(progress, received);
            Assert.Equal(progress, received);
        }
        finally
        {
            await sys.Terminate();
        }
    }
}
