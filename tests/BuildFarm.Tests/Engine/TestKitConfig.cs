using Akka.Configuration;

namespace BuildFarm.Tests.Engine;

/// <summary>
/// The configuration every TestKit class here starts from. ExpectMsg, FishForMessage, AwaitCondition and
/// ExpectTerminated without a time of their own wait up to 10 s instead of TestKit's 3 s: the first message of a class
/// pays for a cold start (JIT, protobuf descriptors, the scheduler), which took up to 2.8 s of those 3 s on a loaded
/// machine. These waits end when the message arrives, so a passing run takes no longer; every ExpectNoMsg window names
/// its own duration and is not touched.
/// </summary>
internal static class TestKitConfig
{
    private static readonly Config Patience = ConfigurationFactory.ParseString("akka.test.single-expect-default = 10s");

    public static Config With(string hocon) => Patience.WithFallback(ConfigurationFactory.ParseString(hocon));

    public static Config With(Config config) => Patience.WithFallback(config);
}
