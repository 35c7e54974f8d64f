using System.Text;

namespace BuildFarm.Coordinator.Engine;

/// <summary>The last lines a running step printed: replayed to a build that joins late, and attached to a failure.</summary>
public sealed class StepLogTail(int maxLines)
{
    private const int MaxLineBytes = 4096;
    private readonly Queue<string> _lines = new();
    private readonly List<byte> _partial = [];

    public IEnumerable<string> Lines => _lines;

    public void Add(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (b != (byte)'\n')
            {
                if (_partial.Count < MaxLineBytes) _partial.Add(b);
                continue;
            }
            _lines.Enqueue(Encoding.UTF8.GetString([.. _partial]));
            _partial.Clear();
            while (_lines.Count > maxLines) _lines.Dequeue();
        }
    }

    /// <summary>The complete lines and the unfinished last one.</summary>
    public IReadOnlyList<string> Flush() =>
        _partial.Count > 0 ? [.. _lines, Encoding.UTF8.GetString([.. _partial])] : [.. _lines];

    public void Clear()
    {
        _lines.Clear();
        _partial.Clear();
    }
}
