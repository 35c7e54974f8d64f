using System.Formats.Tar;

namespace BuildFarm.IntegrationTests.Worker;

/// <summary>One entry of a layer tar as a test sees it.</summary>
public sealed record LayerTarEntry(TarEntryType Type, int Uid, int Gid, int Mode, DateTimeOffset ModificationTime, string LinkName, string Content);
