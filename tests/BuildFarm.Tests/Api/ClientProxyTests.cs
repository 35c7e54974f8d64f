using BuildFarm.Coordinator.Api;

namespace BuildFarm.Tests.Api;

public sealed class ClientProxyTests
{
    [Fact]
    public void No_proxy_variable_means_a_direct_connection()
    {
        Assert.Null(ClientProxy.From(new Dictionary<string, string> { ["DOCKER_CONFIG"] = "/home/u/.docker" }));
    }

    [Fact]
    public void Each_scheme_goes_through_its_own_proxy_and_the_lower_case_spelling_wins()
    {
        var proxy = ClientProxy.From(new Dictionary<string, string>
        {
            ["HTTP_PROXY"] = "http://upper:3128",
            ["http_proxy"] = "http://lower:3128",
            ["HTTPS_PROXY"] = "proxy.example:8443",
        })!;

        Assert.Equal(new Uri("http://lower:3128"), proxy.GetProxy(new Uri("http://registry.example/v2/")));
        Assert.Equal(new Uri("http://proxy.example:8443"), proxy.GetProxy(new Uri("https://registry.example/v2/")));
    }

    [Fact]
    public void No_proxy_hosts_their_subdomains_and_ports_go_direct()
    {
        var proxy = ClientProxy.From(new Dictionary<string, string>
        {
            ["ALL_PROXY"] = "http://proxy:3128",
            ["NO_PROXY"] = "internal.example, .corp.example,127.0.0.1:5000",
        })!;

        Assert.Null(proxy.GetProxy(new Uri("https://internal.example/v2/")));
        Assert.Null(proxy.GetProxy(new Uri("https://registry.corp.example/v2/")));
        Assert.Null(proxy.GetProxy(new Uri("http://127.0.0.1:5000/v2/")));
        Assert.Equal(new Uri("http://proxy:3128"), proxy.GetProxy(new Uri("http://127.0.0.1:5001/v2/")));
        Assert.Equal(new Uri("http://proxy:3128"), proxy.GetProxy(new Uri("https://docker.io/v2/")));
    }

    [Fact]
    public void A_proxy_that_is_no_url_is_refused_naming_the_variable()
    {
        var error = Assert.Throws<FormatException>(() => ClientProxy.From(new Dictionary<string, string> { ["https_proxy"] = "ftp://x:21" }));

        Assert.Contains("https_proxy=ftp://x:21", error.Message);
    }
}
