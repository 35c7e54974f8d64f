namespace BuildFarm.Coordinator.Images;

/// <summary>An exclusive lock between processes on a lock file (.NET's FileShare.None is a flock on Linux).</summary>
public static class FileLock
{
    public static async Task<FileStream> AcquireAsync(string path, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        // Short waits first: the lock is held for milliseconds, so a fixed 20 ms poll left it idle most of the time
        // while several processes queued for it.
        var wait = 1;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(wait, cancellationToken);
                wait = Math.Min(wait * 2, 20);
            }
        }
    }
}
