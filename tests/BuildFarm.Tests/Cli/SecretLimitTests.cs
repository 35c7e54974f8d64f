using System.Collections;
using BuildFarm.Cli;
using BuildFarm.Cli.Commands;
using BuildFarm.TestSupport;

namespace BuildFarm.Tests.Cli;

/// <summary>Fault injection (issue 17, item 5): an endless or oversized secret source is refused with one clear line.</summary>
public sealed class SecretLimitTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CliEnvironment _environment = CliEnvironment.From(new Hashtable());

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Secret_from_dev_zero_is_refused_naming_the_limit()
    {
        var error = await Assert.ThrowsAsync<UsageException>(() => BuildArguments.ReadSecretAsync("id=z,src=/dev/zero", _environment, CancellationToken.None));

        Assert.Equal("secret z: /dev/zero is larger than the 500 KiB a secret may hold", error.Message);
    }

    [Fact]
    public async Task Secret_file_one_byte_over_the_limit_is_refused_and_one_at_the_limit_is_read()
    {
        var over = _dir.Combine("over");
        var at = _dir.Combine("at");
        await File.WriteAllBytesAsync(over, new byte[BuildArguments.MaxSecretBytes + 1]);
        await File.WriteAllBytesAsync(at, new byte[BuildArguments.MaxSecretBytes]);

        await Assert.ThrowsAsync<UsageException>(() => BuildArguments.ReadSecretAsync($"id=o,src={over}", _environment, CancellationToken.None));
        var read = await BuildArguments.ReadSecretAsync($"id=a,src={at}", _environment, CancellationToken.None);
        Assert.Equal(BuildArguments.MaxSecretBytes, read.Value.Length);
    }
}
