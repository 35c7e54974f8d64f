using System.Formats.Tar;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>COPY/ADD &lt;&lt;EOF on a real overlay snapshot (issue 19, item 1): each body is a file named by its delimiter.</summary>
[Collection(WorkerCollection.Name)]
public sealed class CopyStepHeredocTests(WorkerFixture worker, CopyContext context) : IClassFixture<CopyContext>
{
    private const int Rw_r__r__ = 0b110_100_100;

    private async Task<IReadOnlyDictionary<string, LayerTarEntry>> CopyAsync(CopyOperation op)
    {
        var request = new StepRequest { Parents = [worker.BaseLayer], Operation = op, ContextDirectory = context.Directory, WorkingDirectory = "/work" };
        var result = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);
        Assert.True(result.Succeeded);
        return await worker.ReadLayerHeadersAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
    }

    [Fact]
    public async Task Copy_heredoc_to_a_file_path_writes_its_body_there_0644_root_owned()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = [], Destination = "/etc/hello.txt", Heredocs = [new Heredoc("EOF", "hello\n")] });

        var file = entries["etc/hello.txt"];
        Assert.Equal("hello\n", file.Content);
        Assert.Equal(Rw_r__r__, file.Mode & 0b111_111_111_111);
        Assert.Equal((0, 0), (file.Uid, file.Gid));
        Assert.DoesNotContain("etc/EOF", entries.Keys);
    }

    [Fact]
    public async Task Copy_several_heredocs_and_a_context_file_land_in_the_directory_by_name()
    {
        var entries = await CopyAsync(new CopyOperation
        {
            Sources = ["a.txt"], Destination = "docs/",
            Heredocs = [new Heredoc("one.txt", "first\n"), new Heredoc("two.txt", "second\n")],
        });

        var files = entries.Where(e => e.Value.Type is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            .Select(e => $"{e.Key}={e.Value.Content}").Order(StringComparer.Ordinal);
        Assert.Equal(["work/docs/a.txt=A", "work/docs/one.txt=first\n", "work/docs/two.txt=second\n"], files);
    }

    [Fact]
    public async Task Copy_heredoc_takes_chmod_and_chown()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = [], Destination = "/secret", Chmod = "600", Chown = "12:34", Heredocs = [new Heredoc("S", "x")] });

        Assert.Equal(0b110_000_000, entries["secret"].Mode & 0b111_111_111_111);
        Assert.Equal((12, 34), (entries["secret"].Uid, entries["secret"].Gid));
    }

    [Fact]
    public async Task Add_heredoc_is_written_as_is_never_unpacked()
    {
        var op = new AddOperation(new CopyOperation { Sources = [], Destination = "/opt/", Heredocs = [new Heredoc("notes.tar", "not an archive\n")] });

        var entries = await CopyAsync(op);

        Assert.Equal("not an archive\n", entries["opt/notes.tar"].Content);
    }

    [Fact]
    public async Task Copy_of_two_heredocs_needs_a_destination_ending_in_slash()
    {
        var error = await Assert.ThrowsAsync<CopyException>(() => CopyAsync(new CopyOperation
        {
            Sources = [], Destination = "/docs", Heredocs = [new Heredoc("a", "1"), new Heredoc("b", "2")],
        }));

        Assert.Contains("must be a directory and end with a /", error.Message);
    }

    [Fact]
    public async Task Copy_heredoc_whose_delimiter_is_a_path_is_refused_naming_it()
    {
        var error = await Assert.ThrowsAsync<CopyException>(() => CopyAsync(new CopyOperation
        {
            Sources = [], Destination = "/x/", Heredocs = [new Heredoc("../escape", "1")],
        }));

        Assert.Contains("<<../escape", error.Message);
    }
}
