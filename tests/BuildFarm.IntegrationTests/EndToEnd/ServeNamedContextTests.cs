using System.Text.RegularExpressions;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// --build-context folders and OCI layouts through a real <c>buildfarm serve</c> (issue 15): their files go up the
/// build's stream like the main context's (a folder after its own .dockerignore), content-addressed, so an unchanged
/// folder uploads nothing the second time.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class ServeNamedContextTests(BusyboxFixture busybox) : IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Named_folder_and_layout_go_up_the_build_stream_and_an_unchanged_folder_uploads_nothing_again()
    {
        var base_ = _scratch.Context("snc-base", "FROM scratch\nADD rootfs.tar /\nRUN echo base > /base.txt\n");
        var made = await _scratch.Cli.BuildAsync("-t", "snc-base:1", base_);
        Assert.True(made.ExitCode == 0, made.ToString());
        var layoutTar = Path.Combine(_scratch.Root, "layout.tar");
        var saved = await _scratch.Cli.RunAsync("save", "--format", "oci", "-o", layoutTar, "snc-base:1");
        Assert.True(saved.ExitCode == 0, saved.ToString());
        var layout = Path.Combine(_scratch.Root, "layout");
        Directory.CreateDirectory(layout);
        await BuildFarmCli.ToolAsync("tar", "-xf", layoutTar, "-C", layout);
        var lib = Path.Combine(_scratch.Root, "lib");
        Directory.CreateDirectory(lib);
        await File.WriteAllTextAsync(Path.Combine(lib, "keep.txt"), "kept");
        await File.WriteAllTextAsync(Path.Combine(lib, "secret.txt"), "never sent");
        await File.WriteAllTextAsync(Path.Combine(lib, ".dockerignore"), "secret.txt\n");
        var app = _scratch.Context("snc-app", "FROM base\nCOPY --from=lib / /opt/lib/\n");

        var server = new BuildFarmCli(Path.Combine(_scratch.Root, "server-home"));
        var address = $"127.0.0.1:{FreeTcpPort.Next()}";
        await using var host = HostProcess.Start(server, "buildfarm serving on", "serve", "--listen", address);
        await host.ReadyAsync(TimeSpan.FromMinutes(1));
        var client = new BuildFarmCli(Path.Combine(_scratch.Root, "client-home"));
        async Task<string> BuildAsync(string dest)
        {
            var build = await client.BuildAsync("--server", address, "--build-context", $"lib={lib}", "--build-context", $"base=oci-layout://{layout}",
                "-o", $"type=local,dest={dest}", app);
            Assert.True(build.ExitCode == 0, build + "\n" + host);
            return dest;
        }

        var first = await BuildAsync(Path.Combine(_scratch.Root, "out1"));
        var second = await BuildAsync(Path.Combine(_scratch.Root, "out2"));

        Assert.Equal("base\n", await File.ReadAllTextAsync(Path.Combine(first, "base.txt")));
        Assert.Equal("kept", await File.ReadAllTextAsync(Path.Combine(first, "opt/lib/keep.txt")));
        Assert.False(File.Exists(Path.Combine(first, "opt/lib/secret.txt")));
        Assert.True(File.Exists(Path.Combine(second, "opt/lib/keep.txt")));
        var received = Received().Matches(host.Stdout + host.Stderr).Select(m => (Named: int.Parse(m.Groups[1].Value), Uploaded: int.Parse(m.Groups[2].Value))).ToList();
        Assert.True(received.Count == 2, host.ToString());
        // the layout (oci-layout, index.json, blobs/sha256/…) and the folder's .dockerignore and keep.txt, not secret.txt
        Assert.True(received[0].Named >= 7 && received[0].Uploaded > 0, host.ToString());
        Assert.Equal(0, received[1].Uploaded);
    }

    [Fact]
    public async Task A_server_refuses_a_named_folder_a_client_sent_no_files_for()
    {
        var server = new BuildFarmCli(Path.Combine(_scratch.Root, "server-home"));
        var address = $"127.0.0.1:{FreeTcpPort.Next()}";
        await using var host = HostProcess.Start(server, "buildfarm serving on", "serve", "--listen", address);
        await host.ReadyAsync(TimeSpan.FromMinutes(1));
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress("http://" + address);
        var api = new Protos.V1.BuildService.BuildServiceClient(channel);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var call = api.Build(cancellationToken: timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        var spec = new Protos.V1.BuildSpec { Dockerfile = Google.Protobuf.ByteString.CopyFromUtf8("FROM scratch\nCOPY --from=lib / /\n"), DockerfilePath = "Dockerfile" };
        spec.NamedContexts["lib"] = "/etc"; // a path of the server's host: never read
        await call.RequestStream.WriteAsync(new Protos.V1.BuildRequest { Spec = spec });
        await call.RequestStream.WriteAsync(new Protos.V1.BuildRequest { Manifest = new Protos.V1.ContextManifest { AnswersChallenges = true } });
        await call.RequestStream.CompleteAsync();

        Protos.V1.BuildError? error = null;
        while (error is null && await call.ResponseStream.MoveNext(timeout.Token))
            error = call.ResponseStream.Current.Error;

        Assert.NotNull(error);
        Assert.Contains("--build-context lib=/etc: the client sent no files for this folder or OCI layout", error.Message);
    }

    [GeneratedRegex(@"build context received: \d+ files \((\d+) of named contexts\), (\d+) blobs uploaded")]
    private static partial Regex Received();
}
