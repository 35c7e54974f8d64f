using System.Net.Sockets;
using BuildFarm.Cli.Engine;

namespace BuildFarm.Tests.Cli;

public sealed class PeerCredentialsTests
{
    [Fact]
    public async Task A_unix_socket_peer_is_known_by_the_uid_of_its_process()
    {
        var dir = Directory.CreateTempSubdirectory("bf-peer-").FullName;
        try
        {
            var endpoint = new UnixDomainSocketEndPoint(Path.Combine(dir, "s"));
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(endpoint);
            listener.Listen(1);
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(endpoint);
            using var accepted = await listener.AcceptAsync();

            var status = BuildFarm.Oci.Native.Posix.LStat("/proc/self/"); // /proc/PID belongs to the process's uid
            Assert.Equal(status.Uid, PeerCredentials.UidOf(accepted));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
