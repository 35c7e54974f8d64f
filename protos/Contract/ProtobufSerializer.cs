using System.Collections.Frozen;
using Akka.Actor;
using Akka.Serialization;
using BuildFarm.Protos.Cluster;
using BuildFarm.Protos.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace BuildFarm.Protos;

/// <summary>
/// Serializes every protobuf message that crosses nodes; the manifest is the message's full protobuf
/// name, so both ends agree without CLR type names on the wire.
/// </summary>
public sealed class ProtobufSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 4711;

    private static readonly FrozenDictionary<string, MessageParser> Parsers =
        new[] { ClusterReflection.Descriptor, BuildReflection.Descriptor }
            .SelectMany(file => file.MessageTypes)
            .SelectMany(Flatten)
            .ToFrozenDictionary(d => d.FullName, d => d.Parser);

    private static IEnumerable<MessageDescriptor> Flatten(MessageDescriptor d) =>
        d.NestedTypes.SelectMany(Flatten).Prepend(d);

    public override int Identifier => SerializerId;

    public override byte[] ToBinary(object obj) => obj is IMessage message
        ? message.ToByteArray()
        : throw new ArgumentException($"{obj.GetType()} is not a protobuf message", nameof(obj));

    public override string Manifest(object o) => o is IMessage message
        ? message.Descriptor.FullName
        : throw new ArgumentException($"{o.GetType()} is not a protobuf message", nameof(o));

    public override object FromBinary(byte[] bytes, string manifest) =>
        Parsers.TryGetValue(manifest, out var parser)
            ? parser.ParseFrom(bytes)
            : throw new System.Runtime.Serialization.SerializationException($"unknown protobuf message '{manifest}'");
}
