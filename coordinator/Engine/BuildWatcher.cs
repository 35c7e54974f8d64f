using System.Threading.Channels;
using Akka.Actor;

namespace BuildFarm.Coordinator.Engine;

/// <summary>Receives a build's progress and its end on behalf of non-actor code (the CLI or a gRPC stream).</summary>
public sealed class BuildWatcher : ReceiveActor
{
    public BuildWatcher(ChannelWriter<object> events)
    {
        ReceiveAny(message => events.TryWrite(message));
    }

    public static Props Props(ChannelWriter<object> events) => Akka.Actor.Props.Create(() => new BuildWatcher(events));
}
