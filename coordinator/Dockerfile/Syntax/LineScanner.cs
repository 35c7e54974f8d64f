using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>
/// Yields lines with their line ending kept, like BuildKit's scanner; stops (and remembers it)
/// at a line of 64 KiB or more, which Go's bufio.Scanner cannot hold.
/// </summary>
internal sealed class LineScanner(string text)
{
    /// <summary>Go's bufio.MaxScanTokenSize: a token (line plus "\n") must fit in this many bytes.</summary>
    public const int MaxTokenSize = 64 * 1024;

    private int _pos;

    public bool LineTooLong { get; private set; }

    public bool Scan(out string line)
    {
        line = "";
        if (LineTooLong || _pos >= text.Length)
        {
            return false;
        }
        var nl = text.IndexOf('\n', _pos);
        var contentEnd = nl < 0 ? text.Length : nl;
        var contentLength = contentEnd - _pos;
        if (contentLength * 3 >= MaxTokenSize && Encoding.UTF8.GetByteCount(text.AsSpan(_pos, contentLength)) >= MaxTokenSize)
        {
            LineTooLong = true;
            return false;
        }
        var end = nl < 0 ? text.Length : nl + 1;
        line = text[_pos..end];
        _pos = end;
        return true;
    }
}
