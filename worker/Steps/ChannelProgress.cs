using System.Threading.Channels;
using BuildFarm.Worker.Execution;

namespace BuildFarm.Worker.Steps;

/// <summary>Writes reported lines into a channel, in the order they are reported.</summary>
internal sealed class ChannelProgress(ChannelWriter<OutputLine> writer) : IProgress<OutputLine>
{
    public void Report(OutputLine value) => writer.TryWrite(value);
}
