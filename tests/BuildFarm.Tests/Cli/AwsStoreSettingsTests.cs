using System.Collections;
using BuildFarm.Cache;
using BuildFarm.Cli;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Cli;

/// <summary>The S3 cache store completed by the AWS conventions (endpoint variables, profiles in the shared files).</summary>
public sealed class AwsStoreSettingsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_named_profile_gives_keys_session_token_region_and_endpoint_from_the_files_the_variables_name()
    {
        var credentials = File("creds", "[default]\naws_access_key_id = nope\n\n[farm]\naws_access_key_id = AKFARM\naws_secret_access_key = farm/secret\naws_session_token = tok==\n");
        var config = File("conf", "[default]\nregion = us-west-1\n[profile farm]\n# a comment\nregion = eu-north-1\nendpoint_url = http://s3.farm:7480\ns3 =\n  endpoint_url = http://not-the-profile-key\n");
        var store = CliEnvironment.From(new Hashtable
        {
            ["BUILDFARM_CACHE"] = "s3://layers", ["AWS_PROFILE"] = "farm",
            ["AWS_SHARED_CREDENTIALS_FILE"] = credentials, ["AWS_CONFIG_FILE"] = config,
        }).Store;
        Assert.Equal(("layers", "http://s3.farm:7480", "eu-north-1", "AKFARM", "farm/secret", "tok=="),
            (store.Bucket, store.Endpoint, store.Region, store.AccessKey, store.SecretKey, store.SessionToken));
    }

    [Fact]
    public void The_default_profile_comes_from_dot_aws_in_home()
    {
        File(".aws/credentials", "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = sdef\n");
        File(".aws/config", "[default]\nregion = ap-south-1\n");
        var store = CliEnvironment.From(new Hashtable { ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b", ["AWS_ENDPOINT_URL"] = "http://h:1" }).Store;
        Assert.Equal(("AKDEF", "sdef", null, "ap-south-1", "http://h:1"), (store.AccessKey, store.SecretKey, store.SessionToken, store.Region, store.Endpoint));
    }

    [Fact]
    public void Endpoint_s3_variable_beats_the_general_one_and_the_spec_beats_both()
    {
        var variables = new Hashtable
        {
            ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b", ["AWS_ENDPOINT_URL"] = "http://general:1", ["AWS_ENDPOINT_URL_S3"] = "http://s3only:2",
        };
        Assert.Equal("http://s3only:2", CliEnvironment.From(variables).Store.Endpoint);
        variables.Remove("AWS_ENDPOINT_URL_S3");
        Assert.Equal("http://general:1", CliEnvironment.From(variables).Store.Endpoint);
        variables["BUILDFARM_CACHE"] = "s3://b?endpoint=http://spec:3&region=sa-east-1";
        variables["AWS_REGION"] = "eu-west-3";
        var store = CliEnvironment.From(variables).Store;
        Assert.Equal(("http://spec:3", "sa-east-1"), (store.Endpoint, store.Region));
    }

    [Fact]
    public void Keys_in_the_environment_beat_the_profile_as_a_pair_with_their_own_session_token()
    {
        File(".aws/credentials", "[default]\naws_access_key_id = AKPROF\naws_secret_access_key = sprof\naws_session_token = proftoken\n");
        var store = CliEnvironment.From(new Hashtable
        {
            ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b?endpoint=http://h:1",
            ["AWS_ACCESS_KEY_ID"] = "AKENV", ["AWS_SECRET_ACCESS_KEY"] = "senv", ["AWS_SESSION_TOKEN"] = "envtoken",
        }).Store;
        Assert.Equal(("AKENV", "senv", "envtoken"), (store.AccessKey, store.SecretKey, store.SessionToken));
    }

    [Fact]
    public void A_named_profile_that_exists_in_neither_file_is_refused_naming_it()
    {
        File(".aws/credentials", "[default]\naws_access_key_id = a\naws_secret_access_key = b\n");
        var e = Assert.Throws<FormatException>(() => CliEnvironment.From(new Hashtable
        {
            ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b?endpoint=http://h:1", ["AWS_PROFILE"] = "nosuch",
        }));
        Assert.Contains("AWS_PROFILE=nosuch", e.Message);
    }

    [Fact]
    public void A_malformed_shared_file_is_refused_with_its_line()
    {
        var credentials = File("creds", "[default]\nthis line has no equals sign\n");
        var e = Assert.Throws<FormatException>(() => CliEnvironment.From(new Hashtable
        {
            ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b?endpoint=http://h:1", ["AWS_SHARED_CREDENTIALS_FILE"] = credentials,
        }));
        Assert.Contains($"{credentials}:2", e.Message);
    }

    [Fact]
    public void The_aws_files_are_not_read_for_a_local_store()
    {
        File(".aws/credentials", "garbage without a section\n[");
        var store = CliEnvironment.From(new Hashtable { ["HOME"] = _dir.Path, ["AWS_PROFILE"] = "nosuch" }).Store;
        Assert.Equal(ContentStoreKind.Local, store.Kind);
    }

    [Fact]
    public void An_s3_store_without_any_endpoint_is_refused_naming_the_variables()
    {
        var store = CliEnvironment.From(new Hashtable { ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b", ["AWS_ACCESS_KEY_ID"] = "a", ["AWS_SECRET_ACCESS_KEY"] = "s" }).Store;
        var e = Assert.Throws<ArgumentException>(() => ContentStoreFactory.Open(store));
        Assert.Contains("AWS_ENDPOINT_URL", e.Message);
    }

    [Fact]
    public void Store_options_never_print_their_keys_or_session_token()
    {
        var store = CliEnvironment.From(new Hashtable
        {
            ["HOME"] = _dir.Path, ["BUILDFARM_CACHE"] = "s3://b?endpoint=http://h:1",
            ["AWS_ACCESS_KEY_ID"] = "AKSHOWN", ["AWS_SECRET_ACCESS_KEY"] = "s3cr3t", ["AWS_SESSION_TOKEN"] = "t0ken",
        }).Store;
        var printed = $"{store}";
        Assert.Contains("http://h:1", printed);
        Assert.DoesNotContain("s3cr3t", printed);
        Assert.DoesNotContain("t0ken", printed);
    }
}
