using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>WORKDIR as a file operation on a real overlay snapshot (issue 19, item 2): mkdir -p as the USER of that moment.</summary>
[Collection(WorkerCollection.Name)]
public sealed class WorkdirStepTests(WorkerFixture worker)
{
    private Task<StepResult> ExecuteAsync(string path, string user) => worker.Executor.ExecuteAsync(
        new StepRequest { Parents = [worker.BaseLayer], Operation = new WorkdirOperation { Path = path }, User = user }, null, CancellationToken.None);

    private async Task<IReadOnlyDictionary<string, LayerTarEntry>> WorkdirAsync(string path, string user)
    {
        var result = await ExecuteAsync(path, user);
        Assert.True(result.Succeeded);
        return await worker.ReadLayerHeadersAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
    }

    [Fact]
    public async Task Workdir_step_makes_every_missing_directory_0755_owned_by_the_user()
    {
        var entries = await WorkdirAsync("/srv/app/data", "1000:50");

        foreach (var dir in new[] { "srv", "srv/app", "srv/app/data" })
        {
            Assert.Equal(0b111_101_101, entries[dir].Mode & 0b111_111_111_111);
            Assert.Equal((1000, 50), (entries[dir].Uid, entries[dir].Gid));
        }
    }

    [Fact]
    public async Task Workdir_step_on_an_existing_directory_makes_no_layer()
    {
        var result = await ExecuteAsync("/etc", "1000");

        Assert.Equal(0, result.ExitCode);
        Assert.Null(result.Layer);
    }

    [Fact]
    public async Task Workdir_step_as_an_unknown_user_fails_naming_the_user()
    {
        var error = await Assert.ThrowsAsync<BuildFarm.Worker.Execution.UserNotFoundException>(() => ExecuteAsync("/srv", "nosuchuser"));

        Assert.Contains("nosuchuser", error.Message);
    }
}
