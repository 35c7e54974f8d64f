using BuildFarm.Coordinator.Api.Identity;
using Microsoft.Extensions.Logging.Abstractions;

namespace BuildFarm.Tests.Api;

public sealed class TokenFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-tokens-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_changed_file_is_read_again_and_a_broken_edit_keeps_the_last_good_tokens()
    {
        var path = Path.Combine(_dir, "tokens");
        File.WriteAllText(path, "first-token-0123456789 team-a\n");
        var file = TokenFile.Open(path, NullLogger.Instance);
        Assert.Equal("team-a", file.Find("first-token-0123456789")?.Team);

        File.WriteAllText(path, "second-token-0123456789 team-b\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5)); // a new stamp even within the clock's resolution
        Assert.Null(file.Find("first-token-0123456789"));
        Assert.Equal("team-b", file.Find("second-token-0123456789")?.Team);

        File.WriteAllText(path, "second-token-0123456789\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(10));
        Assert.Equal("team-b", file.Find("second-token-0123456789")?.Team);
    }

    [Fact]
    public void A_missing_file_is_refused_naming_it()
    {
        var e = Assert.Throws<TokenTableException>(() => TokenFile.Open(Path.Combine(_dir, "nope"), NullLogger.Instance));
        Assert.Contains("nope: no such tokens file", e.Message);
    }
}
