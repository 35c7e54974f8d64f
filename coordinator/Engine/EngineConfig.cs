using Akka.Configuration;
using BuildFarm.Protos;

namespace BuildFarm.Coordinator.Engine;

/// <summary>The HOCON of an engine node: cluster, sharding and the protobuf serializer binding.</summary>
public static class EngineConfig
{
    public static Config Create(EngineOptions options)
    {
        var roles = string.Join(", ", options.Roles.Select(r => $"\"{r}\""));
        var seeds = string.Join(", ", options.SeedNodes.Select(s => $"\"{s}\""));
        // Timeouts are short because a one-node cluster has nobody to wait for, and a cached build's
        // fixed overhead is mostly this startup.
        var hocon = $$"""
            buildfarm.debug-log = {{Quote(options.DebugLogPath ?? "")}}
            akka {
              loggers = ["BuildFarm.Coordinator.Engine.OneLineLogger, BuildFarm.Coordinator"]
              loglevel = {{options.LogLevel}}
              stdout-loglevel = {{options.LogLevel}}
              log-dead-letters = off
              log-dead-letters-during-shutdown = off
              actor {
                provider = cluster
                serializers {
                  buildfarm-proto = "BuildFarm.Protos.ProtobufSerializer, BuildFarm.Protos"
                }
                serialization-bindings {
                  "Google.Protobuf.IMessage, Google.Protobuf" = buildfarm-proto
                }
                serialization-identifiers {
                  "BuildFarm.Protos.ProtobufSerializer, BuildFarm.Protos" = {{ProtobufSerializer.SerializerId}}
                }
              }
              remote.dot-netty.tcp {
                hostname = "{{options.Hostname}}"
                port = {{options.Port}}
                maximum-frame-size = 16MiB
                # The certificate and the peer check come with the ActorSystem's DotNettySslSetup (EngineNode).
                enable-ssl = {{(options.Tls is null ? "off" : "on")}}
              }
              cluster {
                roles = [{{roles}}]
                seed-nodes = [{{seeds}}]
                min-nr-of-members = 1
                log-info = off
                log-info-verbose = off
                gossip-interval = 200ms
                leader-actions-interval = 200ms
                periodic-tasks-initial-delay = 0s
                seed-node-timeout = 2s
                retry-unsuccessful-join-after = 1s
                # Besides StartAsync's own timeout: a node that never joined stops itself instead of retrying forever.
                shutdown-after-unsuccessful-join-seed-nodes = {{JoinGiveUp(options)}}
                # A dead coordinator is unreachable after ~5 s (1 s heartbeats, 3 s pause), downed by the majority once
                # that view is stable for 4 s, and its shards restart elsewhere after the removal margin (SBR takes
                # stable-after: the downed side has stopped itself by then, so no key ever has two live entities):
                # ~14 s from the kill to a survivor serving again.
                failure-detector {
                  heartbeat-interval = 1s
                  acceptable-heartbeat-pause = 3s
                }
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver.active-strategy = keep-majority
                split-brain-resolver.stable-after = 4s
                # A downed node ends its actor system (EngineNode.Ended then says it was not asked to).
                run-coordinated-shutdown-when-down = on
                singleton {
                  hand-over-retry-interval = 100ms
                  min-number-of-hand-over-retries = 2
                }
                # The team permits proxy finds a new singleton quickly (pools wait for permits meanwhile).
                singleton-proxy.singleton-identification-interval = 200ms
                sharding {
                  remember-entities = off
                  state-store-mode = ddata
                  retry-interval = 100ms
                  handoff-timeout = 5s
                  shard-start-timeout = 2s
                  rebalance-interval = 10s
                  coordinator-failure-backoff = 1s
                  waiting-for-state-timeout = 500ms
                  updating-state-timeout = 2s
                  # Off: an entity with a running step or waiting builds must never be stopped; a step entity
                  # stops itself when idle with no waiters, a build entity when its build has ended.
                  passivate-idle-entity-after = off
                  distributed-data.durable.keys = []
                }
              }
              coordinated-shutdown {
                run-by-clr-shutdown-hook = off
                exit-clr = off
                phases {
                  cluster-sharding-shutdown-region.timeout = 2s
                  cluster-leave.timeout = 1s
                  cluster-exiting.timeout = 1s
                }
              }
            }
            """;
        return ConfigurationFactory.ParseString(options.ExtraHocon)
            .WithFallback(ConfigurationFactory.ParseString(hocon))
            .WithFallback(Akka.Cluster.Sharding.ClusterSharding.DefaultConfig())
            .WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig());
    }

    private static string JoinGiveUp(EngineOptions options) =>
        options.SeedNodes.Count == 0 ? "off" : $"{(int)Math.Ceiling(options.JoinTimeout.TotalSeconds) + 2}s";

    // A HOCON quoted string (JSON escaping is valid HOCON).
    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
