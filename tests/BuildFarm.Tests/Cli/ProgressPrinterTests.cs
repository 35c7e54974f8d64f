using System.Text.Json;
using BuildFarm.Cli.Progress;
using BuildFarm.Protos.V1;
using Google.Protobuf;

namespace BuildFarm.Tests.Cli;

public class ProgressPrinterTests
{
    [Theory]
    [InlineData(true, false, "tty")]
    [InlineData(true, true, "plain")]
    [InlineData(false, false, "plain")]
    public void Auto_is_tty_on_a_terminal_unless_ci_is_set(bool terminal, bool ci, string expected) =>
        Assert.Equal(expected, new ProgressPrinter(TextWriter.Null, "auto", ci, terminal) is var p && p.Mode == "tty" ? Finished(p) : p.Mode);

    [Fact]
    public void An_unknown_mode_is_refused_naming_the_choices() =>
        Assert.Contains("auto, tty, plain, rawjson or quiet", Assert.Throws<ArgumentException>(() => new ProgressPrinter(TextWriter.Null, "fancy", false)).Message);

    [Fact]
    public void Rawjson_prints_only_json_events_the_clients_own_messages_included()
    {
        var output = new StringWriter();
        var printer = new ProgressPrinter(output, "rawjson", ci: true);
        printer.OnEvent(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Log, StepId = "k", Name = "[1/1] RUN x", Log = ByteString.CopyFromUtf8("hi\n") });
        printer.Info("naming to app:1 done");
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var info = JsonDocument.Parse(lines[1]);
        Assert.Equal(("INFO", "naming to app:1 done"), (info.RootElement.GetProperty("kind").GetString(), info.RootElement.GetProperty("name").GetString()));
    }

    [Fact]
    public void Plain_numbers_steps_and_prefixes_log_lines_with_their_step()
    {
        var output = new StringWriter();
        var printer = new ProgressPrinter(output, "plain", ci: true);
        printer.OnEvent(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Started, StepId = "a", Name = "[1/2] RUN make" });
        printer.OnEvent(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Log, StepId = "a", Log = ByteString.CopyFromUtf8("compiling\npart") });
        printer.OnEvent(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Completed, StepId = "a", StartedUnixMs = 1000, CompletedUnixMs = 2500 });
        printer.OnEvent(new ProgressEvent { Kind = ProgressEvent.Types.Kind.Cached, StepId = "b", Name = "[2/2] COPY . ." });
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal("#1 [1/2] RUN make", lines[0]);
        Assert.Matches(@"^#1 \d+\.\d{3} compiling$", lines[1]);
        Assert.Equal(["#1 part", "#1 DONE 1.5s", "#2 [2/2] COPY . .", "#2 CACHED"], lines[2..]);
    }

    [Fact]
    public void A_step_keeps_its_last_six_log_lines_with_control_characters_blanked()
    {
        var step = new StepProgress("[1/1] RUN x", 0);
        step.AppendLog(string.Concat(Enumerable.Range(1, 8).Select(i => $"line {i}\n")) + "tab\there\u001b[2J");
        Assert.Equal(["line 3", "line 4", "line 5", "line 6", "line 7", "line 8"], step.LastLines);
        step.FlushLog();
        Assert.Equal("tab here [2J", step.LastLines.Last());
    }

    private static string Finished(ProgressPrinter printer)
    {
        printer.Finish();
        return printer.Mode;
    }
}
