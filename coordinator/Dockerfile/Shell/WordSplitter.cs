using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>Accumulates words: unquoted whitespace ends a word, raw (quoted/escaped) text never does.</summary>
internal sealed class WordSplitter
{
    private readonly StringBuilder _buf = new();
    private readonly List<string> _words = [];
    private bool _inWord;

    public void AddChar(int ch)
    {
        if (RuneText.IsSpace(ch))
        {
            if (_inWord && _buf.Length != 0)
            {
                _words.Add(_buf.ToString());
                _buf.Clear();
                _inWord = false;
            }
        }
        else
        {
            AddRawChar(ch);
        }
    }

    public void AddRawChar(int ch)
    {
        RuneText.Append(_buf, ch);
        _inWord = true;
    }

    public void AddString(string s)
    {
        foreach (var rune in s.EnumerateRunes())
        {
            AddChar(rune.Value);
        }
    }

    public void AddRawString(string s)
    {
        _buf.Append(s);
        _inWord = true;
    }

    public List<string> GetWords()
    {
        if (_buf.Length > 0)
        {
            _words.Add(_buf.ToString());
            _buf.Clear();
            _inWord = false;
        }
        return _words;
    }
}
