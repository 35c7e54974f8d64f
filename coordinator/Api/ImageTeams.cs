using System.Text.Json;
using BuildFarm.Coordinator.Api.Identity;

namespace BuildFarm.Coordinator.Api;

/// <summary>
/// Which teams built each image of the server's store (by manifest digest): what a team lists, removes and reads is
/// its own. An image built by two teams (same digest: the cache is shared) belongs to both. Kept in a JSON file beside
/// the image index (written whole, then renamed), so a restart does not hand every image to everyone; null path: memory only.
/// </summary>
public sealed class ImageTeams
{
    private readonly string? _path;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedSet<string>> _teams;

    public ImageTeams(string? path)
    {
        _path = path;
        _teams = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        if (path is null || !File.Exists(path)) return;
        try
        {
            var read = JsonSerializer.Deserialize<Dictionary<string, string[]>>(File.ReadAllText(path)) ?? [];
            foreach (var (digest, teams) in read) _teams[digest] = new SortedSet<string>(teams, StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the image owners file is not a JSON object of digest → teams ({e.Message}); fix or remove it", e);
        }
    }

    /// <summary>Records that <paramref name="team"/> built the image; builds without a team claim nothing.</summary>
    public void Claim(string manifestDigest, string team)
    {
        if (team.Length == 0) return;
        lock (_gate)
        {
            if (!_teams.TryGetValue(manifestDigest, out var teams)) _teams[manifestDigest] = teams = new SortedSet<string>(StringComparer.Ordinal);
            if (teams.Add(team)) Save();
        }
    }

    /// <summary>The team lets go of the image; true when no other team holds it (then it may really be removed).</summary>
    public bool Disown(string manifestDigest, string team)
    {
        lock (_gate)
        {
            if (!_teams.TryGetValue(manifestDigest, out var teams)) return true;
            if (teams.Remove(team)) Save();
            if (teams.Count > 0) return false;
            _teams.Remove(manifestDigest);
            Save();
            return true;
        }
    }

    /// <summary>True when the caller may see the image: an admin (or an open server's caller), or a team that built it.</summary>
    public bool Sees(Caller caller, string manifestDigest)
    {
        if (caller.IsAdmin) return true;
        lock (_gate) return _teams.TryGetValue(manifestDigest, out var teams) && teams.Contains(caller.Team);
    }

    private void Save()
    {
        if (_path is null) return;
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_teams.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal)));
        File.Move(temp, _path, overwrite: true);
    }
}
