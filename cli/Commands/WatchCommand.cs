using System.CommandLine;
using BuildFarm.Cli.Progress;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm watch ID --server ADDR</c>: re-attaches to a build of the caller's team — its progress from the
/// start (or only what comes with <c>--from-now</c>) until it ends; exits as the build did (0, 1, 130 canceled).</summary>
public static class WatchCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var id = new Argument<string>("BUILD") { Description = "The build's id (buildfarm builds)" };
        var fromNow = new Option<bool>("--from-now") { Description = "Skip the events so far; follow from now on" };
        var progress = new Option<string>("--progress") { Description = "auto, tty, plain, quiet or rawjson", DefaultValueFactory = _ => "auto" };
        progress.AcceptOnlyFromAmong("auto", "tty", "plain", "quiet", "rawjson");
        return FarmClientCommand.Create(environment, "watch", "Follow a build on a farm (replays its progress, then follows it to its end)",
            [id, fromNow, progress], async (parse, endpoint, cancellationToken) =>
            {
                var printer = new ProgressPrinter(Console.Error, parse.GetValue(progress)!, environment.IsCi);
                using var call = endpoint.Client.Watch(new WatchRequest { BuildId = parse.GetValue(id)!, FromStart = !parse.GetValue(fromNow) },
                    cancellationToken: cancellationToken);
                await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    switch (response.MessageCase)
                    {
                        case BuildResponse.MessageOneofCase.Progress:
                            printer.OnEvent(response.Progress);
                            break;
                        case BuildResponse.MessageOneofCase.Result:
                            printer.Finish();
                            var result = response.Result;
                            printer.Info($"writing image {result.ManifestDigest} done");
                            foreach (var name in result.ImageNames) printer.Info($"naming to {name} done");
                            printer.Info($"{result.StepsExecuted} steps executed, {result.StepsCached} cached");
                            Console.WriteLine(result.ManifestDigest);
                            return 0;
                        case BuildResponse.MessageOneofCase.Error:
                            printer.Finish();
                            var error = response.Error;
                            await Console.Error.WriteLineAsync($"ERROR: {(error.Location.Length > 0 ? error.Location + ": " : "")}{error.Message}");
                            foreach (var line in error.LogTail) await Console.Error.WriteLineAsync(line);
                            return error.ErrorClass == "canceled" ? 130 : 1;
                    }
                }
                printer.Finish();
                await Console.Error.WriteLineAsync($"ERROR: {endpoint.Server} ended the watch without a result");
                return 1;
            });
    }
}
