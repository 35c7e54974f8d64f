using System.Formats.Tar;
using BuildFarm.Worker.FileOps;
using BuildFarm.Worker.Snapshots;
using BuildFarm.Worker.Steps;

namespace BuildFarm.IntegrationTests.Worker;

[Collection(WorkerCollection.Name)]
public sealed class CopyStepTests(WorkerFixture worker, CopyContext context) : IClassFixture<CopyContext>
{
    private async Task<IReadOnlyDictionary<string, LayerTarEntry>> CopyAsync(CopyOperation op,
        Func<StepRequest, StepRequest>? configure = null, IReadOnlyList<LayerRef>? parents = null)
    {
        var request = new StepRequest { Parents = parents ?? [worker.BaseLayer], Operation = op, ContextDirectory = context.Directory };
        var result = await worker.Executor.ExecuteAsync(configure is null ? request : configure(request), null, CancellationToken.None);
        Assert.True(result.Succeeded);
        return await worker.ReadLayerHeadersAsync(new LayerRef(result.Layer!, result.DiffId!.Value));
    }

    /// <summary>Sources, destination, flags, and the regular files the layer must hold (path=content), no more.</summary>
    public static TheoryData<string, string[], string, string, string> Cases => new()
    {
        { "file into a dir/ destination", ["a.txt"], "/dst/", "", "dst/a.txt=A" },
        { "file to a new file name", ["a.txt"], "/renamed", "", "renamed=A" },
        { "missing parents of the destination are created", ["a.txt"], "/new/deep/name", "", "new/deep/name=A" },
        { "file into an existing dir without slash", ["a.txt"], "/home", "", "home/a.txt=A" },
        { "a directory copies its contents", ["dir"], "/d", "", "d/skip.log=S d/sub/y.txt=Y d/x.txt=X" },
        { "a directory with trailing slash too", ["dir/"], "/d/", "", "d/skip.log=S d/sub/y.txt=Y d/x.txt=X" },
        { "wildcard over files", ["?.txt"], "/w/", "", "w/a.txt=A w/b.txt=B" },
        { "wildcard matching a directory", ["d?r"], "/q/", "", "q/skip.log=S q/sub/y.txt=Y q/x.txt=X" },
        { "several sources", ["a.txt", "c.log"], "/m/", "", "m/a.txt=A m/c.log=C" },
        { "relative destination joins the workdir", ["a.txt"], "rel/", "", "work/rel/a.txt=A" },
        { "dot destination is the workdir", ["a.txt"], ".", "", "work/a.txt=A" },
        { "--parents keeps the source path", ["dir/sub/y.txt", "a.txt"], "/p/", "parents", "p/a.txt=A p/dir/sub/y.txt=Y" },
        { "--parents pivots at /./", ["dir/./sub/y.txt"], "/p/", "parents", "p/sub/y.txt=Y" },
        { "--exclude drops matches", ["dir"], "/e/", "exclude", "e/sub/y.txt=Y e/x.txt=X" },
        { "a symlink inside the context is followed", ["inside-link"], "/l", "", "l=X" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Copy_places_files_like_buildkit(string why, string[] sources, string destination, string flags, string expected)
    {
        var entries = await CopyAsync(new CopyOperation
        {
            Sources = sources,
            Destination = destination,
            Parents = flags == "parents",
            Excludes = flags == "exclude" ? ["*.log"] : [],
        }, r => r with { WorkingDirectory = "/work" });

        var files = entries.Where(e => e.Value.Type is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            .Select(e => $"{e.Key}={e.Value.Content}").Order(StringComparer.Ordinal);
        var wanted = expected.Split(' ').Order(StringComparer.Ordinal);
        Assert.True(wanted.SequenceEqual(files), $"{why}: got {string.Join(' ', files)}");
    }

    [Fact]
    public async Task Copy_of_a_directory_keeps_inner_symlinks_as_links()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["dir"], Destination = "/d/" });

        Assert.Equal(TarEntryType.SymbolicLink, entries["d/link-to-x"].Type);
        Assert.Equal("x.txt", entries["d/link-to-x"].LinkName);
    }

    [Fact]
    public async Task Copy_of_a_directory_keeps_hard_links_between_its_files()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["linked"], Destination = "/h/" });

        Assert.Equal("shared inode", entries["h/one"].Content);
        Assert.Equal(TarEntryType.HardLink, entries["h/two"].Type);
        Assert.Equal("h/one", entries["h/two"].LinkName);
    }

    [Fact]
    public async Task Copy_of_a_large_tree_keeps_every_file_its_mode_time_and_hard_links()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["many"], Destination = "/m/" });

        for (var dir = 0; dir < 3; dir++)
        {
            for (var i = 0; i < 100; i++)
            {
                var path = $"m/d{dir}/f{i:D3}";
                if (dir == 0 && i == 50) continue;
                Assert.Equal(TarEntryType.RegularFile, entries[path].Type);
                Assert.Equal($"{dir}/{i}", entries[path].Content);
                Assert.Equal(i % 7 == 0 ? 0b111_101_101 : 0b110_100_100, entries[path].Mode);
                Assert.Equal(CopyContext.ManyEpoch.AddSeconds(dir * 1000 + i), entries[path].ModificationTime);
                Assert.Equal((0, 0), (entries[path].Uid, entries[path].Gid));
            }
            // the folder's own time, not the time its files were written in it
            Assert.Equal(CopyContext.ManyEpoch.AddDays(dir + 1), entries[$"m/d{dir}"].ModificationTime);
        }
        Assert.Equal("0/50", entries["m/d0/f050"].Content);
        Assert.Equal(TarEntryType.HardLink, entries["m/d2/z-link"].Type);
        Assert.Equal("m/d0/f050", entries["m/d2/z-link"].LinkName);
    }

    [Fact]
    public async Task Copy_step_layer_is_kept_with_the_size_of_its_files()
    {
        // the differ's walk gives the size (each hard-linked set once); the kept folder is not walked again for it
        var request = new StepRequest
        {
            Parents = [worker.BaseLayer], ContextDirectory = context.Directory,
            Operation = new CopyOperation { Sources = ["many", "linked"], Destination = "/sized/" },
        };
        var result = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);

        var expected = Enumerable.Range(0, 3).Sum(dir => Enumerable.Range(0, 100).Sum(i => $"{dir}/{i}".Length)) + "shared inode".Length;
        Assert.Equal(expected, worker.Snapshotter.LocalLayerBytes(result.DiffId!.Value));
    }

    [Fact]
    public async Task Copy_with_several_sources_needs_a_destination_ending_in_slash()
    {
        var error = await Assert.ThrowsAsync<CopyException>(() => CopyAsync(new CopyOperation { Sources = ["a.txt", "b.txt"], Destination = "/x" }));
        Assert.Contains("must be a directory and end with a /", error.Message);
    }

    [Fact]
    public async Task Copy_wildcard_matching_nothing_is_skipped_and_creates_nothing()
    {
        // BuildKit skips an empty wildcard, even as the only source, and does not create the destination.
        var entries = await CopyAsync(new CopyOperation { Sources = ["*.none"], Destination = "/x/" });
        Assert.DoesNotContain(entries.Keys, k => k.TrimEnd('/') == "x");
    }

    [Fact]
    public async Task Copy_of_a_missing_source_fails_naming_it()
    {
        var error = await Assert.ThrowsAsync<CopyException>(() => CopyAsync(new CopyOperation { Sources = ["nope.txt"], Destination = "/x" }));
        Assert.Contains("nope.txt", error.Message);
    }

    [Fact]
    public async Task Copy_of_a_context_symlink_pointing_outside_is_refused()
    {
        foreach (var link in new[] { "escape-absolute", "escape-relative" })
        {
            var error = await Assert.ThrowsAsync<UnsafeSymlinkException>(() => CopyAsync(new CopyOperation { Sources = [link], Destination = "/x" }));
            Assert.Contains(link, error.Message);
            Assert.Contains("outside", error.Message);
        }
    }

    [Fact]
    public async Task Copy_from_the_context_is_owned_by_root()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["owned.txt"], Destination = "/o" });

        Assert.Equal((0, 0), (entries["o"].Uid, entries["o"].Gid));
    }

    [Fact]
    public async Task Copy_chown_resolves_names_from_the_image()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["dir"], Destination = "/owned/", Chown = "app:staff" });

        Assert.All(entries.Where(e => e.Key.StartsWith("owned", StringComparison.Ordinal)), e => Assert.Equal((1000, 50), (e.Value.Uid, e.Value.Gid)));
    }

    [Fact]
    public async Task Copy_chown_with_a_bare_uid_uses_it_as_gid_too()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["a.txt"], Destination = "/a", Chown = "4242" });

        Assert.Equal((4242, 4242), (entries["a"].Uid, entries["a"].Gid));
    }

    [Fact]
    public async Task Copy_chmod_sets_the_octal_mode()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["a.txt"], Destination = "/a", Chmod = "741" });

        Assert.Equal(Convert.ToInt32("741", 8), entries["a"].Mode);
    }

    [Fact]
    public async Task Copy_from_another_stage_keeps_ownership()
    {
        var build = await worker.RunAsync("mkdir /out && echo bin > /out/app && chown 1000:1000 /out/app");
        var stage = new List<LayerRef> { worker.BaseLayer, new(build.Layer!, build.DiffId!.Value) };

        var entries = await CopyAsync(new CopyOperation { Sources = ["/out/app"], Destination = "/usr/local/bin/", From = "build" },
            r => r with { Stages = new Dictionary<string, IReadOnlyList<LayerRef>> { ["build"] = stage } });

        Assert.Equal("bin\n", entries["usr/local/bin/app"].Content);
        Assert.Equal((1000, 1000), (entries["usr/local/bin/app"].Uid, entries["usr/local/bin/app"].Gid));
    }

    [Fact]
    public async Task Copy_link_layer_does_not_depend_on_the_parent()
    {
        var other = await worker.RunAsync("mkdir -p /opt && chmod 700 /opt && echo x > /opt/other");
        var op = new CopyOperation { Sources = ["a.txt"], Destination = "/opt/a.txt", Link = true };
        var request = new StepRequest { Parents = [worker.BaseLayer], Operation = op, ContextDirectory = context.Directory };

        var onBase = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);
        var onOther = await worker.Executor.ExecuteAsync(request with { Parents = [worker.BaseLayer, new(other.Layer!, other.DiffId!.Value)] }, null, CancellationToken.None);

        Assert.Equal(onBase.DiffId, onOther.DiffId);
        var entries = await worker.ReadLayerHeadersAsync(new LayerRef(onOther.Layer!, onOther.DiffId!.Value));
        Assert.Equal(["opt", "opt/a.txt"], entries.Keys.Where(k => k.Length > 0 && k != ".").Order());
    }

    [Fact]
    public async Task Copy_same_step_twice_gives_the_same_layer_digest()
    {
        var request = new StepRequest
        {
            Parents = [worker.BaseLayer],
            Operation = new CopyOperation { Sources = ["dir", "a.txt"], Destination = "/app/" },
            ContextDirectory = context.Directory,
            SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1700000000),
        };

        var first = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);
        var second = await worker.Executor.ExecuteAsync(request, null, CancellationToken.None);

        Assert.Equal(first.Layer!.Digest, second.Layer!.Digest);
    }

    [Theory]
    [InlineData("app.tar")]
    [InlineData("app.tgz")]
    [InlineData("app.tbz")]
    [InlineData("app.txz")]
    [InlineData("app.tzst")]
    public async Task Add_extracts_a_local_archive_recognised_by_content(string archive)
    {
        var entries = await CopyAsync(new AddOperation { Sources = [archive], Destination = "/unpacked" });

        Assert.Equal("inner", entries["unpacked/top/inner.txt"].Content);
        Assert.DoesNotContain(entries.Keys, k => k.EndsWith(archive, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Add_archive_with_chown_keeps_the_archive_owners_and_owns_only_the_destination_it_creates()
    {
        // BuildKit (checked against dockerd 26.1, conformance case add-chown-archive-owners): --chown does not reach
        // the extracted entries, which keep the owners the archive records.
        var entries = await CopyAsync(new AddOperation { Sources = ["app.tgz"], Destination = "/x/", Chown = "app" });

        Assert.Equal((1000, 1000), (entries["x"].Uid, entries["x"].Gid));
        Assert.Equal((0, 0), (entries["x/top"].Uid, entries["x/top"].Gid));
        Assert.Equal((0, 0), (entries["x/top/inner.txt"].Uid, entries["x/top/inner.txt"].Gid));
    }

    [Fact]
    public async Task Add_archive_keeps_wh_names_as_files_and_roots_absolute_names_at_the_destination()
    {
        var entries = await CopyAsync(new AddOperation { Sources = ["odd.tar"], Destination = "/odd/" });

        Assert.Equal("plain file", entries["odd/.wh.kept"].Content);
        Assert.Contains(entries, e => e.Key.StartsWith("odd/", StringComparison.Ordinal) && e.Key.EndsWith("top/inner.txt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Add_copies_a_file_that_only_looks_like_an_archive()
    {
        var entries = await CopyAsync(new AddOperation { Sources = ["fake.tar.gz"], Destination = "/f/" });

        Assert.Equal("not really an archive", entries["f/fake.tar.gz"].Content);
    }

    [Fact]
    public async Task Copy_never_extracts_archives()
    {
        var entries = await CopyAsync(new CopyOperation { Sources = ["app.tgz"], Destination = "/f/" });

        Assert.Contains("f/app.tgz", entries.Keys);
        Assert.DoesNotContain("f/top/inner.txt", entries.Keys);
    }
}
