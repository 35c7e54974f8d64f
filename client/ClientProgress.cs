using BuildFarm.Cli.Progress;
using BuildFarm.Protos.V1;

namespace BuildFarm.Client;

/// <summary>The native client's progress: cli's plain writer (one numbered line per event, as buildx), or nothing when
/// quiet. The tty view and rawjson stay in the managed CLI.</summary>
public sealed class ClientProgress(TextWriter output, bool quiet)
{
    private readonly PlainProgressWriter? _plain = quiet ? null : new PlainProgressWriter(output);

    public void OnEvent(ProgressEvent e) => _plain?.OnEvent(e);

    public void Info(string message)
    {
        if (_plain is not null) output.WriteLine($"#0 {message}");
    }
}
