using BuildFarm.Cache;
using BuildFarm.Oci;
using BuildFarm.Oci.Native;
using BuildFarm.Coordinator.Context;
using BuildFarm.Coordinator.Dockerfile.Ignore;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Context;
using BuildFarm.Worker.Execution;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class StepExecutorRunnerTests(WorkerFixture worker)
{
    [Fact]
    public async Task Exec_form_run_of_a_missing_binary_is_a_step_failure_naming_the_command()
    {
        var runner = new StepExecutorRunner(worker.Executor);
        var spec = new StepDefinition
        {
            CacheKey = "missing-binary",
            Run = new RunOp { ExecForm = true, Args = { "/nope", "--flag" } },
        };
        var inputs = new StepInputs
        {
            ParentLayers =
            {
                new LayerRef
                {
                    Digest = worker.BaseLayer.Blob.Digest,
                    Size = worker.BaseLayer.Blob.Size,
                    MediaType = worker.BaseLayer.Blob.MediaType,
                    DiffId = worker.BaseLayer.DiffId.ToString(),
                },
            },
        };

        var error = await Assert.ThrowsAsync<StepRunFailedException>(() => runner.RunAsync(spec, inputs, new Dictionary<string, byte[]>(), new IgnoredOutput(), CancellationToken.None));

        Assert.StartsWith("process \"/nope --flag\" could not start", error.Message);
        Assert.IsType<ContainerStartException>(error.InnerException);
    }

    [Fact]
    public async Task Copy_with_a_manifest_digest_reads_the_context_from_the_store_through_the_worker_materializer()
    {
        var scratch = Directory.CreateTempSubdirectory("bf-runner-ctx").FullName;
        try
        {
            var folder = Directory.CreateDirectory(Path.Combine(scratch, "ctx")).FullName;
            Directory.CreateDirectory(Path.Combine(folder, "app"));
            File.WriteAllText(Path.Combine(folder, "app/main.sh"), "echo main\n");
            File.WriteAllText(Path.Combine(folder, "unrelated.txt"), "not selected");
            foreach (var path in new[] { "app/main.sh", "unrelated.txt", "app", "." })
                Posix.SetTimes(Path.Combine(folder, path), 1_650_000_000, 0);
            var copy = new StepDefinition { CacheKey = "copy-app", SourceDateEpoch = "1700000000", Copy = new CopyOp { Sources = { "app" }, Destination = "/srv/" } };
            var fromFolder = await new StepExecutorRunner(worker.Executor).RunAsync(copy, Inputs(new ContextRef { LocalDir = folder }),
                new Dictionary<string, byte[]>(), new IgnoredOutput(), CancellationToken.None);

            var shared = new LocalContentStore(Path.Combine(scratch, "shared"));
            var published = await new ContextPublisher(shared).PublishAsync(folder, ContextWalker.Walk(folder, PatternMatcher.Create([])), CancellationToken.None);
            Directory.Delete(folder, recursive: true); // the worker has no folder to fall back on
            var blobs = new CachingContentStore(shared, Path.Combine(scratch, "worker-blobs"), 1L << 30);
            var materializer = new ContextMaterializer(blobs, new ContextMaterializerOptions(Path.Combine(scratch, "worker-ctx"), 1L << 30));
            var fromStore = await new StepExecutorRunner(worker.Executor, materializer).RunAsync(copy,
                Inputs(new ContextRef { ManifestDigest = published.ManifestDigest.ToString() }), new Dictionary<string, byte[]>(), new IgnoredOutput(),
                CancellationToken.None);

            Assert.Equal(fromFolder.Layer.Digest, fromStore.Layer.Digest);
            var tree = Assert.Single(Directory.GetDirectories(Path.Combine(scratch, "worker-ctx", published.ManifestDigest.Hex)));
            Assert.True(File.Exists(Path.Combine(tree, "tree/app/main.sh")));
            Assert.False(File.Exists(Path.Combine(tree, "tree/unrelated.txt"))); // only what the COPY selects travels
            Assert.True(await blobs.Local.ExistsAsync(Digest.Parse(ContentDigest("echo main\n"))));
        }
        finally { Directory.Delete(scratch, recursive: true); }
    }

    [Fact]
    public async Task Copy_op_heredocs_reach_the_worker_and_become_files()
    {
        var copy = new StepDefinition
        {
            CacheKey = "copy-heredocs",
            Copy = new CopyOp { Destination = "/docs/", Chmod = "640", Heredocs = { new Heredoc { Name = "one.txt", Content = "first\n" }, new Heredoc { Name = "two.txt", Content = "second\n" } } },
        };

        var result = await new StepExecutorRunner(worker.Executor).RunAsync(copy, Inputs(new ContextRef()), new Dictionary<string, byte[]>(),
            new IgnoredOutput(), CancellationToken.None);

        var layer = new BuildFarm.Worker.Snapshots.LayerRef(
            new Descriptor { MediaType = result.Layer.MediaType, Digest = result.Layer.Digest, Size = result.Layer.Size }, Digest.Parse(result.Layer.DiffId));
        var entries = await worker.ReadLayerHeadersAsync(layer);
        Assert.Equal("first\n", entries["docs/one.txt"].Content);
        Assert.Equal("second\n", entries["docs/two.txt"].Content);
        Assert.Equal(0b110_100_000, entries["docs/two.txt"].Mode & 0b111_111_111_111);
    }

    [Fact]
    public async Task A_manifest_digest_on_a_worker_without_a_materializer_is_an_internal_error_naming_the_digest()
    {
        var copy = new StepDefinition { CacheKey = "copy-nowhere", Copy = new CopyOp { Sources = { "a" }, Destination = "/" } };
        var digest = "sha256:" + new string('a', 64);

        var error = await Assert.ThrowsAsync<ClassifiedException>(() => new StepExecutorRunner(worker.Executor).RunAsync(copy,
            Inputs(new ContextRef { ManifestDigest = digest }), new Dictionary<string, byte[]>(), new IgnoredOutput(), CancellationToken.None));

        Assert.Equal(ErrorClass.Internal, error.ErrorClass);
        Assert.Contains(digest, error.Message);
    }

    private StepInputs Inputs(ContextRef context) => new()
    {
        Context = context,
        ParentLayers =
        {
            new LayerRef
            {
                Digest = worker.BaseLayer.Blob.Digest,
                Size = worker.BaseLayer.Blob.Size,
                MediaType = worker.BaseLayer.Blob.MediaType,
                DiffId = worker.BaseLayer.DiffId.ToString(),
            },
        },
    };

    private static string ContentDigest(string text) =>
        "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Output is not what this test is about.</summary>
    private sealed class IgnoredOutput : IStepOutput
    {
        public void Write(int stream, string line) { }
    }
}
