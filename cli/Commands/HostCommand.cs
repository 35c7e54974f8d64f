using System.CommandLine;
using BuildFarm.Cli.Engine;
using BuildFarm.Cli.Hosting;

namespace BuildFarm.Cli.Commands;

/// <summary>The one builder of the host verbs (<c>coordinator</c>, <c>worker</c>, <c>serve</c>): their flags, their
/// settings, and a <see cref="FarmHost"/> that runs until asked to stop.</summary>
public static class HostCommand
{
    public static Command Create(string name, string description, HostRole role, CliEnvironment environment)
    {
        var flags = new HostFlags(role);
        var allowInsecure = new Option<string[]>("--allow-insecure-entitlement")
        {
            Description = "Entitlements builds may be granted (security.insecure: RUN --security=insecure runs privileged)",
        };
        var allowCacheImport = new Option<bool>("--allow-cache-import")
        {
            Description = "Let builds import caches (--cache-from): their records enter the shared cache unchecked, so only for clients every team trusts",
        };
        var limits = new RunLimitOptions();
        var resident = new ResidentEngineOptions();
        var command = new Command(name, description);
        foreach (var option in flags.All) command.Options.Add(option);
        if (role == HostRole.Both)
            foreach (var option in resident.All) command.Options.Add(option);
        if (role != HostRole.Worker) command.Options.Add(allowInsecure);
        if (role != HostRole.Worker) command.Options.Add(allowCacheImport);
        if (role != HostRole.Coordinator)
            foreach (var option in limits.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (role == HostRole.Both && resident.Control(parse) is { } control)
                return await control(environment, cancellationToken);
            try
            {
                var settings = FarmSettingsLoader.Load(environment, role, flags.Given(parse), parse.GetValue(flags.Config));
                var allowed = parse.GetValue(allowInsecure) ?? [];
                if (allowed.FirstOrDefault(a => !Coordinator.Builds.Entitlements.Known.Contains(a)) is { } unknown)
                    throw new UsageException($"--allow-insecure-entitlement {unknown}: unknown entitlement (known: {string.Join(", ", Coordinator.Builds.Entitlements.Known)})");
                // Workers get each build's context from the store by digest, never from a coordinator's folder.
                var farmOptions = new LocalFarmOptions(PublishContexts: true, settings.WorkerCacheBytes, settings.ContextCacheBytes)
                {
                    RunLimits = role == HostRole.Coordinator ? Worker.Execution.ContainerLimits.Default : limits.Parse(parse),
                    EntitlementsAllowed = allowed,
                    CacheImportAllowed = role != HostRole.Worker && parse.GetValue(allowCacheImport),
                    WorkerSlots = settings.Slots,
                    SnapshotCacheBytes = settings.SnapshotCacheBytes,
                    // A worker of its own shares the store with other machines: read it through the local cache.
                    StoreIsShared = role == HostRole.Worker,
                };
                return await new FarmHost(environment, settings, role, farmOptions) { Resident = resident.Serve(parse) }.RunAsync(cancellationToken);
            }
            catch (Exception e) when (e is SettingsException or UsageException)
            {
                await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
