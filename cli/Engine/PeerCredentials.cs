using System.Net.Sockets;
using System.Runtime.InteropServices;
using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;

namespace BuildFarm.Cli.Engine;

/// <summary>
/// Who is at the other end of the engine's unix socket (SO_PEERCRED, set by the kernel at connect: it cannot be forged).
/// The engine reads a client's context folder in place only for its own user: such a client could read those files
/// itself, so reading them for it reveals nothing (root connecting to a user's engine still uploads).
/// </summary>
public static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>True when the call came over a unix socket from a process of this process's effective uid.</summary>
    public static bool CallerIsThisUser(ServerCallContext context) =>
        OperatingSystem.IsLinux()
        && context.GetHttpContext().Features.Get<IConnectionSocketFeature>()?.Socket is { AddressFamily: AddressFamily.Unix } socket
        && UidOf(socket) is { } uid && uid == geteuid();

    /// <summary>The peer's uid (struct ucred { pid; uid; gid; }), or null when the socket cannot tell.</summary>
    public static uint? UidOf(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            return socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) == ucred.Length
                ? BitConverter.ToUInt32(ucred[4..8])
                : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
#pragma warning disable SYSLIB1054 // no arguments: nothing to marshal, and this project has no unsafe blocks
    private static extern uint geteuid();
#pragma warning restore SYSLIB1054
}
