using System.CommandLine;
using System.CommandLine.Invocation;
using System.Globalization;
using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>
/// <c>smmucmd</c>: decodes, encodes and checks streams of SMMUv3 command-queue entries. Everything the tool does
/// goes through <see cref="Run(string[], TextReader, TextWriter, TextWriter, Func{Stream}?, Func{Stream}?)"/>, so
/// tests drive it with string readers and writers; <c>Program.cs</c> only passes the console. Input is consumed as
/// a stream: each entry is decoded, encoded or checked as soon as it is read.
/// </summary>
public static class SmmuCmdTool
{
    /// <summary>Success; for <c>check</c>, every entry is accepted.</summary>
    public const int ExitSuccess = 0;

    /// <summary><c>check</c> found at least one entry the queue would refuse.</summary>
    public const int ExitRefused = 1;

    /// <summary>Bad arguments or input that cannot be read.</summary>
    public const int ExitUsage = 2;

    private const string Tool = "smmucmd";

    /// <summary>Room for an index, ": " and a decoded command.</summary>
    private const int DecodedLineLength = 16 + SmmuCommandDecoder.MaxDecodedLength;

    /// <summary>Runs one command line with text streams only; binary input must then come from a file.</summary>
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        Run(args, stdin, stdout, stderr, openStdin: null, openStdout: null);

    /// <summary>Runs one command line.</summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="stdin">Standard input as text.</param>
    /// <param name="stdout">Standard output.</param>
    /// <param name="stderr">Standard error: usage and input errors.</param>
    /// <param name="openStdin">Opens standard input as bytes, for <c>--binary</c> input from <c>-</c>.</param>
    /// <param name="openStdout">Opens standard output as bytes, for <c>encode --binary -o -</c>.</param>
    /// <returns><see cref="ExitSuccess"/>, <see cref="ExitRefused"/> or <see cref="ExitUsage"/>.</returns>
    public static int Run(
        string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, Func<Stream>? openStdin,
        Func<Stream>? openStdout)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var console = new ToolConsole(stdin, stdout, stderr, openStdin, openStdout);
        var line = ToolCommandLine.Create();
        line.Decode.SetAction(result => Decode(line, result, console));
        line.Encode.SetAction(result => Encode(line, result, console));
        line.Check.SetAction(result => Check(line, result, console));
        var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };

        if (args.Length == 0)
        {
            line.Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = stderr, Error = stderr });
            return ExitUsage;
        }

        // 'smmucmd help [COMMAND]' is the same as 'smmucmd [COMMAND] --help'.
        string[] effective = args[0] == "help" ? [.. args.Skip(1).Take(1), "--help"] : args;
        ParseResult parsed = line.Root.Parse(effective);
        if (parsed.Action is ParseErrorAction)
        {
            string command = parsed.CommandResult.Command == line.Root ? Tool : $"{Tool} {parsed.CommandResult.Command.Name}";
            foreach (var error in parsed.Errors)
            {
                console.Error.WriteLine($"{command}: {MessageText.Escape(error.Message)}");
            }

            console.Error.WriteLine($"Run '{command} --help' for usage.");
            return ExitUsage;
        }

        return parsed.Invoke(invocation);
    }

    private static int Decode(ToolCommandLine line, ParseResult result, ToolConsole console)
    {
        var output = new DecodedWriter(console.Out);
        int index = 0;
        return Read(result.GetValue(line.DecodeInput) ?? "-", result.GetValue(line.DecodeBinary) ? InputForm.Binary : InputForm.Hex,
            console, "decode", (in SmmuCommand command, int _) => output.Write(index++, command));
    }

    private static int Encode(ToolCommandLine line, ParseResult result, ToolConsole console)
    {
        string input = result.GetValue(line.EncodeInput) ?? "-";
        string? output = result.GetValue(line.EncodeOutput);
        bool binary = result.GetValue(line.EncodeBinary);
        if (output is null or "-")
        {
            if (!binary)
            {
                return Read(input, InputForm.Commands, console, "encode", HexSink(console.Out));
            }

            if (console.OpenStdout is null)
            {
                return ReportError(console, "encode", "binary output to standard output is not available here; give -o FILE.");
            }

            using Stream stdout = console.OpenStdout();
            return Read(input, InputForm.Commands, console, "encode", BinarySink(stdout));
        }

        // Write beside the target and move it into place only when every line encoded, so a bad line leaves
        // FILE as it was.
        string full = Path.GetFullPath(output);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        int code;
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                if (binary)
                {
                    code = Read(input, InputForm.Commands, console, "encode", BinarySink(file));
                }
                else
                {
                    using var writer = new StreamWriter(file);
                    code = Read(input, InputForm.Commands, console, "encode", HexSink(writer));
                }
            }

            if (code == ExitSuccess)
            {
                File.Move(temporary, full, overwrite: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            code = ReportError(console, "encode", $"cannot write '{output}': {e.Message}");
        }
        finally
        {
            File.Delete(temporary);
        }

        return code;
    }

    private static int Check(ToolCommandLine line, ParseResult result, ToolConsole console)
    {
        QueueKind kind = result.GetValue(line.CheckQueue) switch
        {
            "trap" => QueueKind.Trap,
            "vcmdq" => QueueKind.Vcmdq,
            _ => QueueKind.Smmu,
        };
        bool verbose = result.GetValue(line.CheckVerbose);
        InputForm form = result.GetValue(line.CheckBinary) ? InputForm.Binary
            : result.GetValue(line.CheckCommands) ? InputForm.Commands : InputForm.Hex;

        var checker = new QueueChecker(kind, line.Features(result));
        var tally = new CheckTally();
        var output = new DecodedWriter(console.Out);
        int code = Read(result.GetValue(line.CheckInput) ?? "-", form, console, "check", (in SmmuCommand command, int _) =>
        {
            Verdict verdict = checker.Check(command);
            int index = tally.Count;
            tally.Add(index, verdict);
            if (verdict.Accepted && verdict.Note is null && !verbose)
            {
                return;
            }

            output.Write(index, command);
            string pad = new(' ', index.ToString(CultureInfo.InvariantCulture).Length + 2);
            console.Out.WriteLine(verdict.Accepted ? $"{pad}accepted" : $"{pad}refused: {verdict.Reason}");
            if (verdict.Note is not null)
            {
                console.Out.WriteLine($"{pad}{verdict.Note}");
            }
        });
        if (code != ExitSuccess)
        {
            return code;
        }

        console.Out.WriteLine(tally.Summary(kind, tally.Count));
        return tally.Refused == 0 ? ExitSuccess : ExitRefused;
    }

    /// <summary>Streams the input through <paramref name="sink"/>; on bad or unreadable input says why and returns 2.</summary>
    private static int Read(string input, InputForm form, ToolConsole console, string command, EntrySink sink)
    {
        bool stdin = input == "-";
        string source = stdin ? "<stdin>" : $"'{input}'";
        string error;
        try
        {
            if (form == InputForm.Binary)
            {
                if (stdin && console.OpenStdin is null)
                {
                    error = "binary input from standard input is not available here; give a FILE.";
                }
                else
                {
                    using Stream stream = stdin ? console.OpenStdin!() : File.OpenRead(input);
                    EntryReader.TryReadBinary(stream, sink, out error);
                }
            }
            else
            {
                using TextReader? file = stdin ? null : new StreamReader(input);
                TextReader reader = file ?? console.In;
                if (form == InputForm.Commands)
                {
                    EntryReader.TryReadCommands(reader, sink, out error);
                }
                else
                {
                    EntryReader.TryReadHex(reader, sink, out error);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read it: {e.Message}";
        }

        return error.Length == 0 ? ExitSuccess : ReportError(console, command, $"{source}: {error}");
    }

    private static EntrySink HexSink(TextWriter writer)
    {
        char[] text = new char[2 * (2 + 16) + 1];
        return (in SmmuCommand command, int _) =>
        {
            "0x".CopyTo(text);
            command.Word0.TryFormat(text.AsSpan(2), out _, "x16", CultureInfo.InvariantCulture);
            " 0x".CopyTo(text.AsSpan(18));
            command.Word1.TryFormat(text.AsSpan(21), out _, "x16", CultureInfo.InvariantCulture);
            writer.WriteLine(text.AsSpan(0, 37));
        };
    }

    private static EntrySink BinarySink(Stream stream)
    {
        byte[] bytes = new byte[SmmuCommandLayout.EntrySize];
        return (in SmmuCommand command, int _) =>
        {
            command.Write(bytes);
            stream.Write(bytes);
        };
    }

    private static int ReportError(ToolConsole console, string command, string error)
    {
        console.Error.WriteLine($"{Tool} {command}: {MessageText.Escape(error)}");
        return ExitUsage;
    }

    private enum InputForm
    {
        Hex,
        Binary,
        Commands,
    }

    /// <summary>Writes 'INDEX: decoded' lines through one reusable buffer.</summary>
    private sealed class DecodedWriter(TextWriter writer)
    {
        private readonly char[] _line = new char[DecodedLineLength];

        public void Write(int index, in SmmuCommand command)
        {
            index.TryFormat(_line, out int written, default, CultureInfo.InvariantCulture);
            _line[written++] = ':';
            _line[written++] = ' ';
            SmmuCommandDecoder.TryFormat(command, _line.AsSpan(written), out int text);
            writer.WriteLine(_line.AsSpan(0, written + text));
        }
    }
}
