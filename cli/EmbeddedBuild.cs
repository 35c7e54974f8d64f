using BuildFarm.Cache;
using BuildFarm.Cli.Commands;
using BuildFarm.Cli.Progress;
using BuildFarm.Coordinator.Engine;
using BuildFarm.Coordinator.Export;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci.Registry;
using BuildFarm.Protos;
using BuildFarm.Protos.Cluster;
using BuildFarm.Worker.Actors;
using BuildFarm.Worker.Steps;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Dockerfile.Lint;

namespace BuildFarm.Cli;

/// <summary>Runs a build in this process: coordinator and worker as a one-node cluster over the local store.</summary>
public static class EmbeddedBuild
{
    public static async Task<int> RunAsync(BuildInvocation invocation, CancellationToken cancellationToken)
    {
        if (invocation.Server is { } server)
            return await RemoteBuild.RunAsync(invocation, server, cancellationToken);
        var printer = new ProgressPrinter(Console.Error, invocation.Progress, invocation.Environment.IsCi, color: !invocation.Environment.NoColor);
        BuildOutcome outcome;
        // dest=- (stdout, as buildx): the exporter writes a temp file that goes to stdout once the build succeeded.
        var spec = invocation.Spec.Clone();
        var stdoutFile = Path.Combine(Path.GetTempPath(), $"buildfarm-stdout-{Environment.ProcessId}-{Guid.NewGuid():N}.tar");
        var toStdout = spec.Outputs.Where(o => o.Attrs.GetValueOrDefault("dest") == "-").ToList();
        foreach (var output in toStdout) output.Attrs["dest"] = stdoutFile;
        try
        {
            if (toStdout.Count > 1) throw new InvalidOperationException("only one --output can write to stdout (dest=-)");
            // key files get an ssh-agent of their own for this build; each entry then names one socket on this host
            await using var agents = await SshAgents.StartAsync(spec.Ssh, cancellationToken);
            await using var farm = await LocalFarm.StartAsync(invocation.Environment, new EngineOptions(),
                LocalFarmOptions.Embedded with { RunLimits = invocation.RunLimits, WorkerSlots = EmbeddedSlots.From(invocation.Environment) },
                cancellationToken);
            outcome = await farm.Runner.RunAsync(spec, invocation.ContextDir, invocation.NoCacheFilter, printer.OnEvent, cancellationToken);
            if (outcome is { Success: true, CheckOnly: false, CallJson: null } && toStdout.Count > 0)
            {
                await using var file = File.OpenRead(stdoutFile);
                await using var stdout = Console.OpenStandardOutput();
                await file.CopyToAsync(stdout, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = new BuildOutcome { Canceled = true, Error = "canceled", ErrorClass = ErrorClass.Canceled };
        }
        catch (Exception e)
        {
            // Reported by class; an internal error names its type so that a bug report says what broke.
            var errorClass = ErrorClassOf(e);
            outcome = new BuildOutcome
            {
                ErrorClass = errorClass,
                Error = errorClass == ErrorClass.Internal ? $"internal error: {e.GetType().Name}: {e.Message}" : e.Message,
            };
        }
        finally
        {
            File.Delete(stdoutFile);
        }
        printer.Finish();
        return await ReportAsync(invocation, outcome, printer, cancellationToken.IsCancellationRequested);
    }

    /// <summary>The CLI's classes on top of the contract's: what a user's input or environment caused is no crash.</summary>
    private static ErrorClass ErrorClassOf(Exception e) => e switch
    {
        RegistryException or UnauthorizedAccessException or InvalidOperationException or UsageException => ErrorClass.UserError,
        _ => ErrorClasses.Of(e),
    };

    public static async Task<int> ReportAsync(BuildInvocation invocation, BuildOutcome outcome, ProgressPrinter printer, bool canceled)
    {
        try
        {
            if (outcome is { Success: true, CheckOnly: false, CallJson: null } && invocation.Load is { Daemon: var daemon, Archive: var archive })
            {
                var started = DateTimeOffset.UtcNow;
                try
                {
                    await daemon.LoadAsync(archive, CancellationToken.None);
                }
                catch (InvalidOperationException e)
                {
                    await Console.Error.WriteLineAsync("ERROR: " + e.Message);
                    return 1;
                }
                printer.Info($"loading image to docker daemon at {daemon.Host} done ({(DateTimeOffset.UtcNow - started).TotalSeconds:0.0}s)");
            }
            if (outcome is { Success: true, CheckOnly: false, CallJson: null } && invocation.LoadIntoFarmStore)
                printer.Info(outcome.ImageNames.Count > 0
                    ? $"--load: no docker daemon (DOCKER_HOST unset, {DockerEngineLoad.DefaultSocket} absent): the image is in buildfarm's image store as {string.Join(", ", outcome.ImageNames)} " +
                      (invocation.Server is { } server ? $"on the server (buildfarm images --server {server})" : "(buildfarm images)")
                    : $"--load: no docker daemon (DOCKER_HOST unset, {DockerEngineLoad.DefaultSocket} absent) and no -t NAME: the image stays unnamed in buildfarm's cache");
            return await ReportOutcomeAsync(invocation, outcome, printer, canceled);
        }
        finally
        {
            if (invocation.Load is { Archive: var loaded }) File.Delete(loaded);
        }
    }

    private static async Task<int> ReportOutcomeAsync(BuildInvocation invocation, BuildOutcome outcome, ProgressPrinter printer, bool canceled)
    {
        var dockerfileName = Path.GetFileName(invocation.DockerfilePath);
        if (outcome.CallJson is { } json)
        {
            // buildx --call=outline|targets: the table, or with format=json BuildKit's result.json and a newline, on stdout
            await Console.Out.WriteAsync(invocation.CallFormat == "json" ? json + "\n" : outcome.CallText);
            return 0;
        }
        if (outcome.CheckOnly)
        {
            // buildx --call=check: the findings on stdout, and a failing status when there are any
            LintReportWriter.WriteCheck(Console.Out, outcome.LintWarnings, dockerfileName, invocation.Spec.Dockerfile.ToStringUtf8());
            return outcome.LintWarnings.Count > 0 ? 1 : 0;
        }
        if (BuildCalls.IsCheck(invocation.Spec.Call) && outcome.LintWarnings.Count > 0)
        {
            LintReportWriter.WriteCheck(Console.Out, outcome.LintWarnings, dockerfileName, invocation.Spec.Dockerfile.ToStringUtf8());
            Console.Out.WriteLine();
        }
        if (!outcome.Success)
        {
            if (!BuildCalls.IsCheck(invocation.Spec.Call))
                LintReportWriter.WriteBuildSummary(Console.Error, outcome.LintWarnings);
            await Console.Error.WriteLineAsync(FailureReport.Format(outcome, invocation.DockerfilePath));
            return outcome.Canceled || canceled || outcome.ErrorClass == ErrorClass.Canceled ? 130 : 1;
        }
        printer.Info($"writing image {outcome.ManifestDigest} done");
        foreach (var name in outcome.ImageNames) printer.Info($"naming to {name} done");
        printer.Info($"{outcome.StepsExecuted} steps executed, {outcome.StepsCached} cached");
        // as buildx: the checks' findings once the progress is done
        LintReportWriter.WriteBuildSummary(Console.Error, outcome.LintWarnings);
        if (invocation.IidFile is { } iid)
            await File.WriteAllTextAsync(iid, outcome.ManifestDigest);
        if (invocation.MetadataFile is { } metadataPath)
            await File.WriteAllBytesAsync(metadataPath, BuildMetadata.Write(outcome, BuildMetadata.BuildRef(invocation.Server, outcome.BuildId)));
        if (invocation.Quiet) Console.WriteLine(outcome.ManifestDigest);
        return 0;
    }
}
