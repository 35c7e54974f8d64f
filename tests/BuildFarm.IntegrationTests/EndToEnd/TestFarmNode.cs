namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>A host process of a test farm under <c>root</c>: its own home, the farm's shared store (a local folder) and
/// its one remoting certificate (made by the first node).</summary>
public static class TestFarmNode
{
    public static BuildFarmCli Create(string root, string name)
    {
        var certificate = Path.Combine(root, "farm.p12");
        if (!File.Exists(certificate)) FarmCertificate.Write(certificate);
        var cli = new BuildFarmCli(Path.Combine(root, name));
        cli.Environment["BUILDFARM_CACHE"] = Path.Combine(root, "store");
        cli.Environment["BUILDFARM_REMOTING_CERT"] = certificate;
        return cli;
    }
}
