using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace BuildFarm.Cli.Engine;

/// <summary>Asks an engine's socket for its health (grpc.health.v1): SERVING means it takes builds.</summary>
public static class EngineProbe
{
    public static async Task<bool> ServesAsync(string socketPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!File.Exists(socketPath)) return false;
        using var channel = GrpcChannel.ForAddress(UnixSocketHandler.Address,
            new GrpcChannelOptions { HttpHandler = UnixSocketHandler.Create(socketPath) });
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(),
                deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested || e.StatusCode != StatusCode.Cancelled)
        {
            return false;
        }
    }
}
