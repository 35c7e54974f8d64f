using System.Collections;
using BuildFarm.Cache;
using BuildFarm.Cli;

namespace BuildFarm.Tests.Cli;

public class CliEnvironmentTests
{
    [Fact]
    public void Local_store_defaults_to_buildfarm_home_cache()
    {
        var env = CliEnvironment.From(new Hashtable { ["BUILDFARM_HOME"] = "/srv/bf" });
        Assert.Equal("/srv/bf", env.Home.Root);
        Assert.Equal("/srv/bf/cache", env.Store.ResolveLocalRoot());
        Assert.EndsWith("/.buildfarm", CliEnvironment.From(new Hashtable()).Home.Root);
    }

    [Fact]
    public void Store_credentials_and_namespace_come_from_the_environment_unless_the_spec_gives_them()
    {
        var env = CliEnvironment.From(new Hashtable
        {
            ["BUILDFARM_CACHE"] = "s3://c?endpoint=http://h:1&timeout=9", ["AWS_ACCESS_KEY_ID"] = "ak", ["AWS_SECRET_ACCESS_KEY"] = "sk",
            ["BUILDFARM_CACHE_NAMESPACE"] = "ns1", ["AWS_REGION"] = "eu-west-3",
        });
        Assert.Equal((ContentStoreKind.S3, "ak", "sk", "ns1", "eu-west-3"), (env.Store.Kind, env.Store.AccessKey, env.Store.SecretKey, env.Store.Namespace, env.Store.Region));
        Assert.Equal(TimeSpan.FromSeconds(9), env.Store.OperationTimeout);
        var given = env.StoreOptions("s3://c?endpoint=http://h:1&region=us-west-1");
        Assert.Equal("us-west-1", given.Region);
    }

    [Fact]
    public void Trace_source_date_epoch_docker_config_and_ci_are_read_once()
    {
        var env = CliEnvironment.From(new Hashtable
        {
            ["BUILDFARM_TRACE"] = "1", ["SOURCE_DATE_EPOCH"] = "1700000000", ["DOCKER_CONFIG"] = "/etc/dockercfg", ["CI"] = "true",
        });
        Assert.Equal((true, "1700000000", "/etc/dockercfg", true), (env.Trace, env.SourceDateEpoch, env.DockerConfigDirectory, env.IsCi));
        var bare = CliEnvironment.From(new Hashtable());
        Assert.Equal((false, "", false), (bare.Trace, bare.SourceDateEpoch, bare.IsCi));
        Assert.EndsWith("/.docker", bare.DockerConfigDirectory);
    }

    [Fact]
    public void Only_the_cli_reads_environment_variables()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "BuildFarm.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no BuildFarm.sln above the test binaries");
        var readers = new[] { "cache", "coordinator", "worker", "oci", "protos" }
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(root, project), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f) is var text
                        && (text.Contains("GetEnvironmentVariable", StringComparison.Ordinal) || text.Contains("GetEnvironmentVariables", StringComparison.Ordinal)))
            .Select(f => Path.GetRelativePath(root, f));
        Assert.Empty(readers);
    }
}
