using System.Text.Json;
using System.Text.Json.Serialization;

namespace BuildFarm.Cli.Engine;

/// <summary>
/// <c>$BUILDFARM_HOME/engine.json</c>: written by a resident engine once it serves (atomic rename), removed when it stops.
/// Clients read it to find the engine and to compare versions.
/// </summary>
public sealed record EngineRecord(
    [property: JsonPropertyName("pid")] int Pid,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("socket")] string Socket,
    [property: JsonPropertyName("started")] DateTimeOffset Started)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The record at <paramref name="path"/>; null when there is none or it is not a record (a torn or foreign
    /// file counts as no engine: the caller replaces it).</summary>
    public static EngineRecord? Read(string path)
    {
        try
        {
            var record = JsonSerializer.Deserialize<EngineRecord>(File.ReadAllText(path));
            return record is { Pid: > 0, Version: not null, Socket: not null } ? record : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes the record through a temp file and a rename, so a reader sees all of it or none.</summary>
    public void Write(string path)
    {
        var temp = $"{path}.{Pid}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, Indented));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Removes the record at <paramref name="path"/> when it is still the one of <paramref name="pid"/>
    /// (a newer engine's record is left alone).</summary>
    public static void DeleteIfOwnedBy(string path, int pid)
    {
        if (Read(path) is { } record && record.Pid != pid) return;
        File.Delete(path);
    }
}
