using System.Security.Cryptography;
using System.Text;
using BuildFarm.Oci;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class AddUrlTests(WorkerFixture worker) : IDisposable
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("downloaded content\n");
    private static readonly DateTimeOffset LastModified = new(2023, 5, 17, 10, 30, 0, TimeSpan.Zero);
    private readonly LocalHttpServer _server = new(new Dictionary<string, byte[]> { ["files/tool.txt"] = Body }, LastModified);

    private Task<StepResult> AddAsync(string destination, string? checksum) =>
        worker.Executor.ExecuteAsync(new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new AddOperation { Sources = [_server.BaseUrl + "files/tool.txt"], Destination = destination, Checksum = checksum },
        }, null, CancellationToken.None);

    [Fact]
    public async Task Add_url_with_matching_checksum_stores_the_file_with_last_modified_mtime()
    {
        var checksum = Digest.FromSha256Bytes(SHA256.HashData(Body)).ToString();

        var result = await AddAsync("/downloads/", checksum);

        var entries = await worker.ReadLayerHeadersAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        var file = entries["downloads/tool.txt"];
        Assert.Equal("downloaded content\n", file.Content);
        Assert.Equal(LastModified, file.ModificationTime);
        Assert.Equal(Convert.ToInt32("600", 8), file.Mode);
        Assert.Equal((0, 0), (file.Uid, file.Gid));
    }

    [Fact]
    public async Task Add_url_whose_name_unescapes_to_a_path_is_refused_and_writes_nothing_outside()
    {
        var marker = "bf-url-escape-" + Guid.NewGuid().ToString("N");
        var url = new Uri(_server.BaseUrl + "files/..%2F..%2F..%2F..%2F..%2F..%2Ftmp%2F" + marker);
        var download = Directory.CreateTempSubdirectory("bf-url-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<CopyException>(() =>
                new UrlFetcher(new HttpClient()).FetchAsync(url, download, null, CancellationToken.None));
            Assert.Contains("not a plain name", e.Message);
            Assert.Contains(marker, e.Message);
            Assert.False(File.Exists(Path.Combine("/tmp", marker)));
            Assert.Empty(Directory.EnumerateFileSystemEntries(download));
        }
        finally
        {
            Directory.Delete(download, recursive: true);
        }
    }

    [Fact]
    public async Task Add_url_to_a_file_destination_takes_that_name()
    {
        var result = await AddAsync("/opt/renamed", null);

        var entries = await worker.ReadLayerHeadersAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
        Assert.Equal("downloaded content\n", entries["opt/renamed"].Content);
    }

    [Fact]
    public async Task Add_url_with_wrong_checksum_fails_naming_both_digests()
    {
        var wrong = Digest.FromSha256Bytes(SHA256.HashData("something else"u8)).ToString();

        var error = await Assert.ThrowsAsync<CopyException>(() => AddAsync("/downloads/", wrong));

        Assert.Contains("checksum mismatch", error.Message);
        Assert.Contains(wrong, error.Message);
    }

    public void Dispose() => _server.Dispose();
}
