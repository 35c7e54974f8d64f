using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Progress;

/// <summary>
/// Prints build progress like buildx: plain (one line per event, numbered steps, for CI and logs), rawjson (one
/// protobuf-JSON event per line), tty (a live view: <see cref="TtyProgress"/>), or quiet. The same events come from an
/// embedded build and through <c>--server</c>, so both print the same.
/// </summary>
public sealed class ProgressPrinter
{
    private readonly TextWriter _out;
    private readonly string _mode;
    private readonly PlainProgressWriter? _plain;
    private readonly TtyProgress? _tty;
    private readonly Lock _gate = new();

    /// <param name="output">Where progress goes (the CLI's stderr, as buildx).</param>
    /// <param name="mode">auto, tty, plain, rawjson or quiet.</param>
    /// <param name="ci">CI is set: auto means plain even on a terminal.</param>
    /// <param name="outputIsTerminal">Null: whether the process's stderr is a terminal.</param>
    /// <param name="color">False (NO_COLOR): the tty view draws without colors.</param>
    public ProgressPrinter(TextWriter output, string mode, bool ci, bool? outputIsTerminal = null, bool color = true)
    {
        _out = output;
        _mode = mode switch
        {
            "auto" => !(outputIsTerminal ?? !Console.IsErrorRedirected) || ci ? "plain" : "tty",
            "tty" or "plain" or "rawjson" or "quiet" => mode,
            _ => throw new ArgumentException($"--progress {mode}: expected auto, tty, plain, rawjson or quiet"),
        };
        if (_mode == "tty") _tty = new TtyProgress(output, color);
        else if (_mode == "plain") _plain = new PlainProgressWriter(output);
    }

    public bool IsQuiet => _mode == "quiet";

    public string Mode => _mode;

    public void Info(string message)
    {
        if (IsQuiet) return;
        if (_tty is not null)
        {
            _tty.Info(message);
            return;
        }
        lock (_gate)
        {
            if (_mode == "rawjson")
                // rawjson stays one JSON document per line: the client's own messages are INFO events.
                _out.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(new ProgressEvent
                {
                    Kind = ProgressEvent.Types.Kind.Info, Name = message, TimestampUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                }));
            else
                _out.WriteLine($"#0 {message}");
        }
    }

    public void OnEvent(ProgressEvent e)
    {
        if (IsQuiet) return;
        if (_tty is not null)
        {
            _tty.OnEvent(e);
            return;
        }
        lock (_gate)
        {
            if (_plain is not null) _plain.OnEvent(e);
            // One protobuf-JSON event per line, for tools (and tests) that want the timestamps.
            else _out.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(e));
        }
    }

    /// <summary>Call before anything else writes to the terminal (the final error or result).</summary>
    public void Finish() => _tty?.Finish();
}
