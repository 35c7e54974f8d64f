using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>WORKDIR as a file operation on a real overlay snapshot (issue 19, item 2): mkdir -p as the USER of that moment.</summary>
[Collection(WorkerCollection.Name)]
public sealed class WorkdirStepTests(WorkerFixture worker)
{
    private async Task<IReadOnlyDictionary<string, LayerTarEntry>> WorkdirAsync(string path, string user)
    {
        var request = new StepRequest { Parents = [worker.BaseLayer], Operation = new WorkdirOperation { Path = path }, User = user };
        var result = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);
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
    public async Task Workdir_step_leaves_an_existing_directory_as_it_is()
    {
        var entries = await WorkdirAsync("/etc", "1000");

        Assert.Empty(entries);
    }
}
