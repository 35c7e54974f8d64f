namespace BuildFarm.Tests.Deploy;

/// <summary>The repository's deploy/ folder, found from the test binaries upwards.</summary>
public static class DeployFolder
{
    public static string Root { get; } = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "BuildFarm.sln")))
                return System.IO.Path.Combine(dir.FullName, "deploy");
        throw new DirectoryNotFoundException($"no BuildFarm.sln above {AppContext.BaseDirectory}");
    }
}
