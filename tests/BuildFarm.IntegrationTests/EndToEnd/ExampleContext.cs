using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A scratch folder for one test: BUILDFARM_HOME, and build contexts copied from examples/ with a busybox rootfs.tar.</summary>
public sealed class ExampleContext : IDisposable
{
    private readonly BusyboxRootfs _busybox;

    public ExampleContext(BusyboxRootfs busybox)
    {
        _busybox = busybox;
        Root = Directory.CreateTempSubdirectory("bf-e2e-").FullName;
        Home = Path.Combine(Root, "home");
        Cli = new BuildFarmCli(Home);
    }

    public string Root { get; }
    public string Home { get; }
    public BuildFarmCli Cli { get; }

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "examples", "hello", "Dockerfile"))) return dir.FullName;
            throw new DirectoryNotFoundException("examples/hello not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Copies examples/NAME into a fresh context and adds rootfs.tar.</summary>
    public string CopyExample(string name = "hello")
    {
        var source = Path.Combine(RepositoryRoot, "examples", name);
        var target = Path.Combine(Root, "ctx-" + name);
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source).Where(f => Path.GetFileName(f) != "rootfs.tar"))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        File.Copy(_busybox.TarPath, Path.Combine(target, "rootfs.tar"));
        return target;
    }

    /// <summary>A context holding rootfs.tar and the given Dockerfile (plus extra files).</summary>
    public string Context(string name, string dockerfile, params (string Path, string Content)[] files)
    {
        var dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        File.Copy(_busybox.TarPath, Path.Combine(dir, "rootfs.tar"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, "Dockerfile"), dockerfile);
        foreach (var (path, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, path))!);
            File.WriteAllText(Path.Combine(dir, path), content);
        }
        return dir;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
