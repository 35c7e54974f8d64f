using System.Text;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Tests.Oci;

public class RegistryAuthTests
{
    [Fact]
    public void Bearer_challenge_parameters_are_parsed_with_quoted_commas_and_escapes()
    {
        var c = AuthChallenge.Parse("Bearer", "realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\",note=\"say \\\"hi\\\"\"");
        Assert.True(c.IsBearer);
        Assert.Equal("https://auth.example.com/token", c.Realm);
        Assert.Equal("registry.example.com", c.Service);
        Assert.Equal("repository:a/b:pull,push", c.Scope);
        Assert.Equal("say \"hi\"", c.Parameters["note"]);
    }

    [Fact]
    public void Basic_challenge_with_an_unquoted_realm_is_parsed()
    {
        var c = AuthChallenge.Parse("Basic", "realm=registry");
        Assert.True(c.IsBasic);
        Assert.Equal("registry", c.Realm);
    }

    private static byte[] Config(string auths) => Encoding.UTF8.GetBytes($$"""{"auths":{{{auths}}},"credsStore":""}""");

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Docker_config_auth_field_is_decoded_into_user_and_password()
    {
        var p = DockerConfigCredentialProvider.FromJson(Config($$"""
            "localhost:5000": {"auth": "{{B64("alice:s3cr:et")}}"}
            """));
        var credential = p.Find("localhost:5000");
        Assert.Equal(new RegistryCredential("alice", "s3cr:et"), credential);
        Assert.Null(p.Find("localhost:5001"));
    }

    [Fact]
    public void Docker_hub_credentials_under_the_v1_url_apply_to_docker_io()
    {
        var p = DockerConfigCredentialProvider.FromJson(Config($$"""
            "https://index.docker.io/v1/": {"auth": "{{B64("bob:pw")}}"}
            """));
        Assert.Equal("bob", p.Find("docker.io")?.Username);
    }

    [Fact]
    public void Url_keys_with_scheme_and_path_match_the_bare_host()
    {
        var p = DockerConfigCredentialProvider.FromJson(Config($$"""
            "https://registry.example.com/v2/": {"username": "carol", "password": "pw"}
            """));
        Assert.Equal(new RegistryCredential("carol", "pw"), p.Find("registry.example.com"));
    }

    [Fact]
    public void Auth_that_is_not_base64_is_reported_with_its_key()
    {
        var e = Assert.Throws<FormatException>(() => DockerConfigCredentialProvider.FromJson(Config("\"r.example\": {\"auth\": \"%%%\"}")));
        Assert.Contains("r.example", e.Message);
    }

    [Fact]
    public void Credential_text_never_shows_the_password()
    {
        Assert.DoesNotContain("topsecret", new RegistryCredential("u", "topsecret").ToString());
    }
}
