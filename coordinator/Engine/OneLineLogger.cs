using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace BuildFarm.Coordinator.Engine;

/// <summary>
/// The engine's Akka logger: every event is one line on stdout (an exception shows as its messages, never its stack),
/// so a failing step does not print a .NET stack trace at the user. When <see cref="EngineOptions.DebugLogPath"/> is
/// set (<c>--debug</c>), each event is also appended there in full, stack included.
/// </summary>
public sealed class OneLineLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public const string DebugLogSetting = "buildfarm.debug-log";

    private readonly string _debugLogPath;
    private StreamWriter? _debugLog;

    public OneLineLogger()
    {
        _debugLogPath = Context.System.Settings.Config.GetString(DebugLogSetting, "");
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Write);
    }

    protected override void PreStart()
    {
        if (_debugLogPath.Length == 0) return;
        Directory.CreateDirectory(Path.GetDirectoryName(_debugLogPath)!);
        _debugLog = new StreamWriter(new FileStream(_debugLogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    protected override void PostStop() => _debugLog?.Dispose();

    private void Write(LogEvent e)
    {
        var head = $"[{e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant()}][{e.Timestamp:O}][{e.LogSource}] {e.Message}";
        Console.Out.WriteLine((e.Cause is null ? head : $"{head}: {OneLine.Of(e.Cause)}").ReplaceLineEndings(" "));
        _debugLog?.WriteLine(e.Cause is null ? head : $"{head}\n{e.Cause}");
    }
}
