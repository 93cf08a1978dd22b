using System.Buffers.Binary;
using System.Globalization;
using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>
/// <c>smmucmd</c>: decodes, encodes and checks streams of SMMUv3 command-queue entries. Everything the tool does
/// goes through <see cref="Run(string[], TextReader, TextWriter, TextWriter)"/>, so tests drive it with string
/// readers and writers; <c>Program.cs</c> only passes the console.
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

    private static readonly string[] DecodeOptions = ["--binary"];
    private static readonly string[] EncodeOptions = ["--binary", "--output"];
    private static readonly string[] CheckOptions = ["--binary", "--commands", "--queue", "--features", "--verbose"];

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
        if (args.Length == 0)
        {
            stderr.Write(Usage.Main);
            return ExitUsage;
        }

        switch (args[0])
        {
            case "-h" or "--help" or "help":
                stdout.Write(args.Length > 1 ? HelpFor(args[1]) ?? Usage.Main : Usage.Main);
                return ExitSuccess;
            case "decode":
                return Decode(args, console);
            case "encode":
                return Encode(args, console);
            case "check":
                return Check(args, console);
            default:
                stderr.WriteLine($"{Tool}: unknown command '{args[0]}'; run '{Tool} --help'.");
                return ExitUsage;
        }
    }

    private static string? HelpFor(string command) => command switch
    {
        "decode" => Usage.Decode,
        "encode" => Usage.Encode,
        "check" => Usage.Check,
        _ => null,
    };

    private static int Decode(string[] args, ToolConsole console)
    {
        if (!ToolArguments.TryParse(args, DecodeOptions, out var options, out string error))
        {
            return UsageError(console, "decode", error);
        }

        if (options.Help)
        {
            console.Out.Write(Usage.Decode);
            return ExitSuccess;
        }

        var entries = new List<SourceEntry>();
        if (!TryRead(options, console, "decode", entries))
        {
            return ExitUsage;
        }

        int width = IndexWidth(entries.Count);
        Span<char> text = stackalloc char[SmmuCommandDecoder.MaxDecodedLength];
        for (int i = 0; i < entries.Count; i++)
        {
            WriteDecoded(console.Out, i, width, entries[i].Command, text);
        }

        return ExitSuccess;
    }

    private static int Encode(string[] args, ToolConsole console)
    {
        if (!ToolArguments.TryParse(args, EncodeOptions, out var options, out string error))
        {
            return UsageError(console, "encode", error);
        }

        if (options.Help)
        {
            console.Out.Write(Usage.Encode);
            return ExitSuccess;
        }

        if (options.Binary && options.Output is null)
        {
            return UsageError(console, "encode", "--binary writes raw bytes and needs -o FILE ('-o -' for standard output).");
        }

        var entries = new List<SourceEntry>();
        if (!TryRead(options, console, "encode", entries))
        {
            return ExitUsage;
        }

        try
        {
            if (options.Binary)
            {
                return WriteBinary(entries, options.Output!, console);
            }

            if (options.Output is null or "-")
            {
                WriteHex(entries, console.Out);
            }
            else
            {
                using var file = new StreamWriter(options.Output);
                WriteHex(entries, file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"{Tool} encode: cannot write '{options.Output}': {e.Message}");
            return ExitUsage;
        }

        return ExitSuccess;
    }

    private static int Check(string[] args, ToolConsole console)
    {
        if (!ToolArguments.TryParse(args, CheckOptions, out var options, out string error))
        {
            return UsageError(console, "check", error);
        }

        if (options.Help)
        {
            console.Out.Write(Usage.Check);
            return ExitSuccess;
        }

        if (options.Binary && options.Commands)
        {
            return UsageError(console, "check", "--binary and --commands are different inputs; give one.");
        }

        QueueKind? kind = (options.Queue ?? "smmu").ToUpperInvariant() switch
        {
            "SMMU" => QueueKind.Smmu,
            "TRAP" => QueueKind.Trap,
            "VCMDQ" => QueueKind.Vcmdq,
            _ => null,
        };
        if (kind is null)
        {
            return UsageError(console, "check", $"unknown queue '{options.Queue}'; use smmu, trap or vcmdq.");
        }

        var features = new SmmuV3Features();
        foreach (string list in options.Features)
        {
            if (!FeatureSwitches.TryApply(list, ref features, out error))
            {
                return UsageError(console, "check", error);
            }
        }

        var problems = features.Validate();
        if (problems.Count > 0)
        {
            return UsageError(console, "check", $"--features: {string.Join("; ", problems)}.");
        }

        var entries = new List<SourceEntry>();
        if (!TryRead(options, console, "check", entries))
        {
            return ExitUsage;
        }

        using var checker = new QueueChecker(kind.Value, features);
        var tally = new CheckTally();
        int width = IndexWidth(entries.Count);
        Span<char> text = stackalloc char[SmmuCommandDecoder.MaxDecodedLength];
        for (int i = 0; i < entries.Count; i++)
        {
            Verdict verdict = checker.Check(entries[i].Command);
            tally.Add(i, verdict);
            if (verdict.Accepted && verdict.Note is null && !options.Verbose)
            {
                continue;
            }

            WriteDecoded(console.Out, i, width, entries[i].Command, text);
            string pad = new(' ', width + 2);
            console.Out.WriteLine(verdict.Accepted ? $"{pad}accepted" : $"{pad}refused: {verdict.Reason}");
            if (verdict.Note is not null)
            {
                console.Out.WriteLine($"{pad}{verdict.Note}");
            }
        }

        console.Out.WriteLine(tally.Summary(kind.Value, entries.Count));
        return tally.Refused == 0 ? ExitSuccess : ExitRefused;
    }

    /// <summary>Reads the whole input in the form the options ask for; on failure prints why and returns false.</summary>
    private static bool TryRead(ToolArguments options, ToolConsole console, string command, List<SourceEntry> entries)
    {
        string source = options.ReadsStdin ? "<stdin>" : options.Input!;
        string error;
        try
        {
            if (options.Binary && command != "encode") // encode reads text; its --binary is the output
            {
                if (options.ReadsStdin && console.OpenStdin is null)
                {
                    error = "binary input from standard input is not available here; give a FILE.";
                }
                else if (options.ReadsStdin)
                {
                    EntryReader.TryReadBinary(console.OpenStdin!(), entries, out error);
                }
                else
                {
                    using var file = File.OpenRead(options.Input!);
                    EntryReader.TryReadBinary(file, entries, out error);
                }
            }
            else
            {
                using TextReader? file = options.ReadsStdin ? null : new StreamReader(options.Input!);
                TextReader reader = file ?? console.In;
                if (options.Commands || command == "encode")
                {
                    EntryReader.TryReadCommands(reader, entries, out error);
                }
                else
                {
                    EntryReader.TryReadHex(reader, entries, out error);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read it: {e.Message}";
        }

        if (error.Length == 0)
        {
            return true;
        }

        console.Error.WriteLine($"{Tool} {command}: {source}: {error}");
        return false;
    }

    private static int WriteBinary(List<SourceEntry> entries, string output, ToolConsole console)
    {
        var bytes = new byte[entries.Count * SmmuCommandLayout.EntrySize];
        for (int i = 0; i < entries.Count; i++)
        {
            entries[i].Command.Write(bytes.AsSpan(i * SmmuCommandLayout.EntrySize));
        }

        if (output != "-")
        {
            File.WriteAllBytes(output, bytes);
            return ExitSuccess;
        }

        if (console.OpenStdout is null)
        {
            console.Error.WriteLine($"{Tool} encode: binary output to standard output is not available here; give -o FILE.");
            return ExitUsage;
        }

        using var stdout = console.OpenStdout();
        stdout.Write(bytes);
        return ExitSuccess;
    }

    private static void WriteHex(List<SourceEntry> entries, TextWriter writer)
    {
        foreach (var entry in entries)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"0x{entry.Command.Word0:x16} 0x{entry.Command.Word1:x16}"));
        }
    }

    private static void WriteDecoded(TextWriter writer, int index, int width, in SmmuCommand command, Span<char> buffer)
    {
        string number = index.ToString(CultureInfo.InvariantCulture);
        writer.Write(new string(' ', width - number.Length));
        writer.Write(number);
        writer.Write(": ");
        SmmuCommandDecoder.TryFormat(command, buffer, out int written);
        writer.Write(buffer[..written]);
        writer.WriteLine();
    }

    private static int IndexWidth(int count) =>
        (Math.Max(count, 1) - 1).ToString(CultureInfo.InvariantCulture).Length;

    private static int UsageError(ToolConsole console, string command, string error)
    {
        console.Error.WriteLine($"{Tool} {command}: {error}");
        console.Error.WriteLine($"Run '{Tool} {command} --help' for usage.");
        return ExitUsage;
    }
}
