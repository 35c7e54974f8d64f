using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;
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

    /// <summary>Output is not what this test is about.</summary>
    private sealed class IgnoredOutput : IStepOutput
    {
        public void Write(int stream, string line) { }
    }
}
