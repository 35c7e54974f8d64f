using System.Security.Cryptography;
using System.Text.Json;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Containers;

/// <summary>
/// Containers under <c>$BUILDFARM_HOME/containers/&lt;id&gt;/</c>: <c>container.json</c> and <c>upper/</c> (the writable
/// layer, in overlay form: deletions are whiteout devices). Names are unique; a name or an ID prefix finds one.
/// </summary>
public sealed class ContainerStore(string root)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string UpperOf(ContainerRecord container) => Path.Combine(root, container.Id, "upper");

    /// <summary>Creates the record of a new container; refuses a name in use, as docker does.</summary>
    public async Task<ContainerRecord> CreateAsync(ContainerRecord template, CancellationToken cancellationToken)
    {
        if (!ValidName(template.Name))
            throw new ArgumentException($"invalid container name \"{template.Name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        Directory.CreateDirectory(root);
        await using var held = await FileLock.AcquireAsync(Path.Combine(root, "containers.lock"), cancellationToken);
        if ((await ListAsync(cancellationToken)).FirstOrDefault(c => c.Name == template.Name) is { } taken)
            throw new ArgumentException($"Conflict. The container name \"/{template.Name}\" is already in use by container \"{taken.Id}\". " +
                                        "You have to remove (or rename) that container to be able to reuse that name.");
        var record = template with { Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) };
        Directory.CreateDirectory(Path.Combine(root, record.Id));
        await SaveAsync(record, cancellationToken);
        return record;
    }

    public async Task SaveAsync(ContainerRecord record, CancellationToken cancellationToken)
    {
        var path = Path.Combine(root, record.Id, "container.json");
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        await File.WriteAllBytesAsync(temp, JsonSerializer.SerializeToUtf8Bytes(record, Json), cancellationToken);
        File.Move(temp, path, overwrite: true);
    }

    public async Task<IReadOnlyList<ContainerRecord>> ListAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(root)) return [];
        var records = new List<ContainerRecord>();
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            var path = Path.Combine(dir, "container.json");
            if (!File.Exists(path)) continue; // being created or removed
            await using var stream = File.OpenRead(path);
            if (await JsonSerializer.DeserializeAsync<ContainerRecord>(stream, Json, cancellationToken) is { } record) records.Add(record);
        }
        return [.. records.OrderByDescending(r => r.Created)];
    }

    /// <summary>By name, full ID or an unambiguous ID prefix; null when none.</summary>
    public async Task<ContainerRecord?> FindAsync(string nameOrId, CancellationToken cancellationToken)
    {
        var all = await ListAsync(cancellationToken);
        if (all.FirstOrDefault(c => c.Name == nameOrId) is { } byName) return byName;
        var byId = all.Where(c => c.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList();
        return nameOrId.Length > 0 && byId.Count == 1 ? byId[0] : null;
    }

    public Task RemoveAsync(ContainerRecord container, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(root, container.Id);
        // The record goes first: a half-removed container is never listed.
        File.Delete(Path.Combine(dir, "container.json"));
        Directory.Delete(dir, recursive: true); // whiteout devices unlink like files
        return Task.CompletedTask;
    }

    private static bool ValidName(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');
}
