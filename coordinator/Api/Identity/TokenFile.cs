using Microsoft.Extensions.Logging;

namespace BuildFarm.Coordinator.Api.Identity;

/// <summary>
/// The tokens file of a coordinator, re-read when it changes (its modification time or size; checked on each call, a
/// stat). A file that no longer parses keeps the last good table and logs why, so a typo while editing does not lock
/// every team out; a file that is missing at start is an error.
/// </summary>
public sealed class TokenFile
{
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private TokenTable _table;
    private (DateTime Written, long Length) _seen;

    private TokenFile(string path, ILogger logger, TokenTable table, (DateTime, long) seen)
    {
        _path = path;
        _logger = logger;
        _table = table;
        _seen = seen;
    }

    public string Path => _path;

    public int Count { get { lock (_gate) return _table.Count; } }

    /// <summary>Reads the file; a missing or malformed one is a <see cref="TokenTableException"/> naming it.</summary>
    public static TokenFile Open(string path, ILogger logger)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new TokenTableException($"{path}: no such tokens file");
        var seen = Stamp(full);
        return new TokenFile(full, logger, TokenTable.Parse(File.ReadAllText(full), path), seen);
    }

    public Caller? Find(string token)
    {
        lock (_gate)
        {
            ReloadIfChanged();
            return _table.Find(token);
        }
    }

    private void ReloadIfChanged()
    {
        (DateTime, long) now;
        try
        {
            now = Stamp(_path);
        }
        catch (IOException e)
        {
            _logger.LogWarning("tokens file {Path}: cannot read it ({Reason}); keeping the {Count} tokens read before", _path, e.Message, _table.Count);
            return;
        }
        if (now == _seen) return;
        _seen = now;
        try
        {
            _table = TokenTable.Parse(File.ReadAllText(_path), _path);
            _logger.LogWarning("tokens file {Path}: re-read, {Count} tokens", _path, _table.Count);
        }
        catch (Exception e) when (e is TokenTableException or IOException or UnauthorizedAccessException)
        {
            _logger.LogError("tokens file {Path}: {Reason}; keeping the {Count} tokens read before", _path, e.Message, _table.Count);
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException("no such file", path);
        return (info.LastWriteTimeUtc, info.Length);
    }
}
