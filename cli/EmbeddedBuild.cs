using System.Text.Json;
using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Cli.Commands;
using BuildFarm.Cli.Progress;
using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Export;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci.Registry;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Steps;

namespace BuildFarm.Cli;

/// <summary>Runs a build in this process: coordinator and worker as a one-node cluster over the local store.</summary>
public static class EmbeddedBuild
{
    public static async Task<int> RunAsync(BuildInvocation invocation, CancellationToken cancellationToken)
    {
        if (invocation.Server is { } server)
            return await RemoteBuild.RunAsync(invocation, server, cancellationToken);
        var printer = new ProgressPrinter(Console.Error, invocation.Progress, invocation.Environment.IsCi);
        BuildOutcome outcome;
        try
        {
            await using var farm = await LocalFarm.StartAsync(invocation.Environment, new EngineOptions(), cancellationToken);
            outcome = await farm.Runner.RunAsync(invocation.Spec, invocation.ContextDir, invocation.NoCacheFilter, printer.OnEvent, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = new BuildOutcome { Canceled = true, Error = "canceled" };
        }
        catch (Exception e) when (e is RegistryException or HttpRequestException or IOException or InvalidOperationException
                                      or UnauthorizedAccessException or ContentStoreUnavailableException)
        {
            outcome = new BuildOutcome { Error = e.Message };
        }
        printer.Finish();
        return await ReportAsync(invocation, outcome, printer, cancellationToken.IsCancellationRequested);
    }

    public static async Task<int> ReportAsync(BuildInvocation invocation, BuildOutcome outcome, ProgressPrinter printer, bool canceled)
    {
        if (!outcome.Success)
        {
            await Console.Error.WriteLineAsync(FailureReport.Format(outcome, invocation.DockerfilePath));
            return outcome.Canceled || canceled ? 130 : 1;
        }
        printer.Info($"writing image {outcome.ManifestDigest} done");
        foreach (var name in outcome.ImageNames) printer.Info($"naming to {name} done");
        printer.Info($"{outcome.StepsExecuted} steps executed, {outcome.StepsCached} cached");
        if (invocation.IidFile is { } iid)
            await File.WriteAllTextAsync(iid, outcome.ManifestDigest);
        if (invocation.MetadataFile is { } metadataPath)
        {
            var metadata = new JsonObject
            {
                ["containerimage.digest"] = outcome.ManifestDigest,
                ["containerimage.config.digest"] = outcome.ConfigDigest,
                ["containerimage.descriptor"] = new JsonObject
                {
                    ["mediaType"] = Oci.MediaTypes.OciManifest,
                    ["digest"] = outcome.ManifestDigest,
                },
            };
            if (outcome.ImageNames.Count > 0) metadata["image.name"] = string.Join(',', outcome.ImageNames);
            await File.WriteAllTextAsync(metadataPath, metadata.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        if (invocation.Quiet) Console.WriteLine(outcome.ManifestDigest);
        return 0;
    }
}
