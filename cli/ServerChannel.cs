using Grpc.Core;
using Grpc.Net.Client;

namespace BuildFarm.Cli;

/// <summary>The gRPC channel of a client verb's <c>--server</c>, and the one line a failed call is reported with.</summary>
public static class ServerChannel
{
    /// <summary>A large receive limit: export chunks and image lists are bigger than gRPC's 4 MiB default allows for.</summary>
    public static GrpcChannel Open(string address) =>
        GrpcChannel.ForAddress(address.Contains("://") ? address : "http://" + address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 << 20 });

    /// <summary>"ERROR: ADDR: why (CODE)" for the failures a call to a server can have; null for anything else (a bug).</summary>
    public static string? Describe(string address, Exception e) => e switch
    {
        RpcException { StatusCode: StatusCode.Unavailable } r => $"ERROR: {address}: no server answers there: {r.Status.Detail} ({r.StatusCode})",
        RpcException r => $"ERROR: {address}: {r.Status.Detail} ({r.StatusCode})",
        UriFormatException => $"ERROR: --server {address}: expected HOST:PORT",
        _ => null,
    };
}
