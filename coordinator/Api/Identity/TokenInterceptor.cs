using Grpc.Core;
using Grpc.Core.Interceptors;

namespace BuildFarm.Coordinator.Api.Identity;

/// <summary>
/// Every call of the Build API carries <c>authorization: Bearer TOKEN</c> when the coordinator has a tokens file: no
/// token or an unknown one ends the call with UNAUTHENTICATED before the service reads a message, so no byte of a
/// context is taken from a stranger. The caller's team rides in <see cref="ServerCallContext.UserState"/>
/// (<see cref="CallerOf"/>). Without a tokens file every caller is <see cref="Caller.Open"/>.
/// </summary>
public sealed class TokenInterceptor(TokenFile? tokens) : Interceptor
{
    private const string Key = "buildfarm.caller";

    public static Caller CallerOf(ServerCallContext context) =>
        context.UserState.TryGetValue(Key, out var caller) && caller is Caller c ? c : Caller.Open;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        if (tokens is null)
        {
            context.UserState[Key] = Caller.Open;
            return;
        }
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null)
            throw new RpcException(new Status(StatusCode.Unauthenticated, "this farm needs a token: pass --token, BUILDFARM_TOKEN or \"token\" in the client's config.json"));
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the authorization header is not \"Bearer TOKEN\""));
        var caller = tokens.Find(header["Bearer ".Length..].Trim())
                     ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "unknown token"));
        context.UserState[Key] = caller;
    }
}
