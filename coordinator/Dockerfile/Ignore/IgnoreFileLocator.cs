
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>
/// Chooses the ignore file of a build as BuildKit does: "&lt;Dockerfile path&gt;.dockerignore" next to the Dockerfile
/// (e.g. Dockerfile.dockerignore, app.Dockerfile.dockerignore) wins over ".dockerignore" at the context root.
/// </summary>
public static class IgnoreFileLocator
{
    /// <summary>The ignore file to use, or null when there is none.</summary>
    public static string? Find(string contextDirectory, string? dockerfilePath)
    {
        if (!string.IsNullOrEmpty(dockerfilePath))
        {
            var dockerfile = Path.IsPathRooted(dockerfilePath) ? dockerfilePath : Path.Combine(contextDirectory, dockerfilePath);
            var specific = dockerfile + ".dockerignore";
            if (File.Exists(specific))
                return specific;
        }
        var common = Path.Combine(contextDirectory, ".dockerignore");
        return File.Exists(common) ? common : null;
    }

    /// <summary>Loads and compiles the chosen ignore file; an empty matcher when there is none.</summary>
    public static async Task<PatternMatcher> LoadAsync(string contextDirectory, string? dockerfilePath, CancellationToken cancellationToken = default)
    {
        var path = Find(contextDirectory, dockerfilePath);
        if (path is null)
            return PatternMatcher.Create([]);
        var text = await File.ReadAllTextAsync(path, cancellationToken);
        return IgnoreFile.Compile(IgnoreFile.ReadEntries(text, path), path);
    }
}
