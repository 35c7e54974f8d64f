using System.Text;

namespace BuildFarm.Cli.Progress;

/// <summary>One step as the tty display knows it: its name, status, times, and the last lines of its log
/// (only those are ever shown, so only those are kept).</summary>
public sealed class StepProgress(string name, int order)
{
    /// <summary>As buildx: a running step shows its last six log lines.</summary>
    public const int ShownLogLines = 6;

    private readonly Queue<string> _lastLines = new();
    private readonly StringBuilder _partial = new();

    public string Name { get; set; } = name;
    public int Order { get; } = order;
    public StepStatus Status { get; set; } = StepStatus.Waiting;

    /// <summary>Local clock (Environment.TickCount64) when this client saw the step start: a server's clock may differ.</summary>
    public long StartedTicks { get; set; }

    /// <summary>The step's own duration once it ended (from the event's timestamps).</summary>
    public double? Seconds { get; set; }

    public IReadOnlyCollection<string> LastLines => _lastLines;

    /// <summary>Adds log bytes; a line counts once its newline arrives (the tail shows as is until then).</summary>
    public void AppendLog(string text)
    {
        _partial.Append(text);
        var all = _partial.ToString();
        var lastNewline = all.LastIndexOf('\n');
        if (lastNewline < 0) return;
        _partial.Clear().Append(all[(lastNewline + 1)..]);
        foreach (var line in all[..lastNewline].Split('\n')) Keep(line.TrimEnd('\r'));
    }

    /// <summary>The unterminated tail of the log becomes a line (the step ended).</summary>
    public void FlushLog()
    {
        if (_partial.Length > 0) Keep(_partial.ToString().TrimEnd('\r'));
        _partial.Clear();
    }

    private void Keep(string line)
    {
        // A tab or an escape sequence of the step's output must not move the cursor of the live display.
        _lastLines.Enqueue(string.Create(line.Length, line, (span, text) =>
        {
            for (var i = 0; i < text.Length; i++) span[i] = char.IsControl(text[i]) ? ' ' : text[i];
        }));
        while (_lastLines.Count > ShownLogLines) _lastLines.Dequeue();
    }
}
