using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>
/// The command line of <c>smmucmd</c> on System.CommandLine: the three subcommands with typed options, the value
/// each option accepts stated in its help and in its error, the rules between options, and completions for the
/// values a shell can offer (<c>dotnet-suggest</c> asks for them through the <c>[suggest]</c> directive).
/// <c>--help</c>, <c>-h</c> and <c>--version</c> come with the root command.
/// </summary>
internal sealed class ToolCommandLine
{
    /// <summary>The queues <c>check</c> knows, in the spelling the option takes.</summary>
    public static readonly string[] QueueNames = ["smmu", "trap", "vcmdq"];

    /// <summary>The longer explanation each command's help prints after its options.</summary>
    private static readonly Dictionary<string, string> Details = new()
    {
        [Tool] = """
            An entry is 16 bytes: w0 = bits [63:0] and w1 = bits [127:64], little-endian in memory. Input is read
            as a stream, entry by entry, so its length is not limited by memory. Run 'smmucmd COMMAND --help'
            (or 'smmucmd help COMMAND') for a command's input forms and options.

            Exit codes: 0 success (check: every entry accepted), 1 check refused an entry, 2 usage error or input
            that does not read (the message names the line or byte).

            Tab completion: install dotnet-suggest ('dotnet tool install -g dotnet-suggest') and its shell shim;
            smmucmd answers its [suggest] requests with commands, options, queue names and feature switches.
            """,
        ["decode"] = """
            Prints each entry as one line, 'INDEX: MNEMONIC key=value ...', in the emulator's decoder form
            (the form 'smmucmd encode' reads back).

            Input, by default hex text:
              - tokens separated by spaces or newlines, each with an optional 0x;
              - a token of up to 16 hex digits is one word; words pair up as w0 then w1;
              - a token of 32 hex digits is a whole entry as a 128-bit number, bits [127:0] (so w1 comes first);
              - '#' starts a comment that runs to the end of the line.

            Example:
              echo '0x002a000100000012 0x0000000040001701' | smmucmd decode
              0: TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1
            """,
        ["encode"] = """
            Reads one command per line in the decoder's text form and prints each entry as '0x<w0> 0x<w1>'.
            Keys may come in any order or case, missing keys are 0, numbers are decimal or 0x hex, and a leading
            'INDEX:' as 'smmucmd decode' prints it is ignored. Blank lines and '#' comments are skipped.
            Raw opcodes are written RESERVED(0x5f) w0=... w1=... or IMPDEF(0x85) w0=... w1=....

            A line that does not parse stops the run with exit code 2, naming the line and the reason. With
            -o FILE nothing is written then (FILE appears only when every line encoded); on standard output the
            entries before the bad line have been printed.

            Example:
              echo 'TLBI_NH_VA vmid=0x1 asid=0x2a addr=0x40001000 tg=4K ttl=3 num=0 scale=0 leaf=1' | smmucmd encode
              0x002a000100000012 0x0000000040001701
            """,
        ["check"] = """
            Checks each entry against one queue's rules and says why each refused entry is refused,
            then prints a one-line summary.

            Queues:
              smmu    the emulated SMMUv3's command queue: what it answers with CERROR_ILL (default)
              trap    the host's IOMMU_HWPT_INVALIDATE path for a vIOMMU: what it refuses with EIO. It forwards
                      only TLBI_NH_ALL, TLBI_NH_ASID, TLBI_NH_VA, TLBI_NH_VAA, TLBI_NSNH_ALL, ATC_INV, CFGI_CD
                      and CFGI_CD_ALL, so CMD_SYNC, CFGI_STE and the rest are refused. vSIDs are not looked up.
              vcmdq   a guest-owned Tegra241 VCMDQ: only TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and CMD_SYNC, which
                      must also be legal on the SMMU. A note says which refused ones the host fix-up would run
                      (TLBI_NH_ALL, TLBI_NH_VAA, TLBI_NSNH_ALL, CFGI_CD, CFGI_CD_ALL). SID pairs are not checked.

            Input: hex text as for 'smmucmd decode', raw bytes with --binary, or the decoder's text form with
            --commands (as for 'smmucmd encode').

            Exit codes: 0 every entry accepted, 1 some entry refused, 2 usage or input error.
            """,
    };

    private const string Tool = "smmucmd";

    private const string InputDescription = "The input file; '-' or none reads standard input.";

    private ToolCommandLine()
    {
        Root = new RootCommand("smmucmd: decode, encode and check SMMUv3 command-queue entries.");
        Root.Subcommands.Add(Decode);
        Root.Subcommands.Add(Encode);
        Root.Subcommands.Add(Check);
        var help = Root.Options.OfType<HelpOption>().Single();
        help.Action = new DetailedHelpAction((HelpAction)help.Action!);
    }

    public RootCommand Root { get; }

    public Command Decode { get; } = new("decode", "Print each entry in the decoder's one-line text form.");

    public Argument<string?> DecodeInput { get; } = InputArgument();

    public Option<bool> DecodeBinary { get; } = BinaryOption("Read raw 16-byte little-endian entries instead of hex text.");

    public Command Encode { get; } = new("encode", "Encode commands written in the decoder's text form as hex words or raw bytes.");

    public Argument<string?> EncodeInput { get; } = InputArgument();

    public Option<bool> EncodeBinary { get; } = BinaryOption("Write raw 16-byte little-endian entries; needs -o FILE ('-o -' for standard output).");

    public Option<string?> EncodeOutput { get; } = new("--output", "-o")
    {
        Description = "Write to FILE instead of standard output ('-' for standard output). FILE may not be the input.",
        HelpName = "FILE",
    };

    public Command Check { get; } = new("check", "Check each entry against one queue's rules and say why each refused entry is refused.");

    public Argument<string?> CheckInput { get; } = InputArgument();

    public Option<bool> CheckBinary { get; } = BinaryOption("Read raw 16-byte little-endian entries. Not with --commands.");

    public Option<bool> CheckCommands { get; } = new("--commands")
    {
        Description = "Read the decoder's text form, as 'smmucmd encode' does. Not with --binary.",
    };

    public Option<string> CheckQueue { get; } = QueueOption();

    public Option<string[]> CheckFeatures { get; } = FeaturesOption();

    public Option<int?> CheckSsidBits { get; } = SsidBitsOption();

    public Option<bool> CheckVerbose { get; } = new("--verbose", "-v") { Description = "Print accepted entries too." };

    /// <summary>Builds the whole command tree (without actions; <see cref="SmmuCmdTool"/> sets them).</summary>
    public static ToolCommandLine Create()
    {
        var line = new ToolCommandLine();
        line.Decode.Arguments.Add(line.DecodeInput);
        line.Decode.Options.Add(line.DecodeBinary);

        line.Encode.Arguments.Add(line.EncodeInput);
        line.Encode.Options.Add(line.EncodeOutput);
        line.Encode.Options.Add(line.EncodeBinary);
        line.Encode.Validators.Add(line.ValidateEncode);

        line.Check.Arguments.Add(line.CheckInput);
        line.Check.Options.Add(line.CheckBinary);
        line.Check.Options.Add(line.CheckCommands);
        line.Check.Options.Add(line.CheckQueue);
        line.Check.Options.Add(line.CheckFeatures);
        line.Check.Options.Add(line.CheckSsidBits);
        line.Check.Options.Add(line.CheckVerbose);
        line.Check.Validators.Add(line.ValidateCheck);
        return line;
    }

    /// <summary>The features <c>check</c> runs with: the defaults, each <c>--features</c> list in order, then <c>--ssid-bits</c>.</summary>
    public SmmuV3Features Features(ParseResult result)
    {
        TryBuildFeatures(result.GetValue(CheckFeatures), result.GetValue(CheckSsidBits), out var features, out _);
        return features;
    }

    /// <summary>True when <paramref name="output"/> names the same file as <paramref name="input"/> (after links).</summary>
    public static bool IsSameFile(string input, string output)
    {
        if (input == "-" || output == "-")
        {
            return false;
        }

        return string.Equals(Resolve(input), Resolve(output),
            OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

        static string Resolve(string path)
        {
            var file = new FileInfo(path);
            return (file.Exists ? file.ResolveLinkTarget(returnFinalTarget: true)?.FullName : null) ?? file.FullName;
        }
    }

    private void ValidateEncode(CommandResult result)
    {
        string? output = result.GetValue(EncodeOutput);
        if (result.GetValue(EncodeBinary) && output is null)
        {
            result.AddError("--binary writes raw bytes and needs -o FILE ('-o -' for standard output).");
        }

        if (output is not null && IsSameFile(result.GetValue(EncodeInput) ?? "-", output))
        {
            result.AddError($"-o '{output}' is the input file; refusing to overwrite it.");
        }
    }

    private void ValidateCheck(CommandResult result)
    {
        if (result.GetResult(CheckBinary) is not null && result.GetResult(CheckCommands) is not null)
        {
            result.AddError("--binary and --commands are different inputs; give one.");
        }

        // The width is read from its token: a bad one has its own error, and GetValue would throw on it.
        int? bits = null;
        if (result.GetResult(CheckSsidBits) is { } ssid)
        {
            if (!FeatureSwitches.TryParseSsidBits(Token(ssid), out int parsed, out _))
            {
                return;
            }

            bits = parsed;
        }

        if (!TryBuildFeatures(result.GetValue(CheckFeatures), bits, out _, out string error))
        {
            result.AddError(error);
        }
    }

    private static bool TryBuildFeatures(string[]? lists, int? ssidBits, out SmmuV3Features features, out string error)
    {
        features = new SmmuV3Features();
        foreach (string list in lists ?? [])
        {
            if (!FeatureSwitches.TryApply(list, ref features, out error))
            {
                error = "--features: " + error;
                return false;
            }
        }

        if (ssidBits is int bits)
        {
            features = features with { SsidBits = bits };
        }

        var problems = features.Validate();
        error = problems.Count == 0 ? string.Empty : $"--features: {string.Join("; ", problems)}.";
        return problems.Count == 0;
    }

    private static Argument<string?> InputArgument()
    {
        var input = new Argument<string?>("FILE") { Description = InputDescription, Arity = ArgumentArity.ZeroOrOne };
        input.Validators.Add(result =>
        {
            string value = Token(result);
            if (value.Length > 1 && value[0] == '-')
            {
                result.AddError($"unknown option '{value}'; for a file of that name write './{value}'.");
            }
        });
        return input;
    }

    private static Option<bool> BinaryOption(string description) => new("--binary", "-b") { Description = description };

    private static Option<string> QueueOption()
    {
        var queue = new Option<string>("--queue", "-q")
        {
            Description = "The queue whose rules apply: smmu (default), trap or vcmdq.",
            HelpName = "smmu|trap|vcmdq",
            DefaultValueFactory = _ => "smmu",
        };
        queue.Validators.Add(result =>
        {
            string value = Token(result);
            if (result.Tokens.Count > 0 && !QueueNames.Contains(value))
            {
                result.AddError($"unknown queue {MessageText.Quote(value)}; use {string.Join(", ", QueueNames)}.");
            }
        });
        queue.CompletionSources.Add(QueueNames);
        return queue;
    }

    private static Option<string[]> FeaturesOption()
    {
        var features = new Option<string[]>("--features", "-f")
        {
            Description = "The SMMU's features, changed from the defaults (stage 1 and 2, ATS, range invalidation, "
                + "20-bit SSIDs; no PRI, HYP, DS, MPAM or stalls). A comma-separated LIST of: "
                + FeatureSwitches.Names + ". May be given more than once.",
            HelpName = "LIST",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        features.CompletionSources.Add(FeatureSwitches.Completions);
        return features;
    }

    private static Option<int?> SsidBitsOption()
    {
        string range = $"{FeatureSwitches.MinSsidBits}..{FeatureSwitches.MaxSsidBits}";
        var option = new Option<int?>("--ssid-bits")
        {
            Description = $"The SMMU's SubstreamID width in bits, {range} (default 20); same as ssid-bits=N in --features.",
            HelpName = range,
            CustomParser = argument => FeatureSwitches.TryParseSsidBits(Token(argument), out int bits, out _) ? bits : 0,
        };
        option.Validators.Add(result =>
        {
            if (!FeatureSwitches.TryParseSsidBits(Token(result), out _, out string error))
            {
                result.AddError("--ssid-bits: " + error);
            }
        });
        return option;
    }

    private static string Token(SymbolResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;

    /// <summary>The standard help, then the command's <see cref="Details"/> under a heading of their own.</summary>
    private sealed class DetailedHelpAction(HelpAction standard) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = standard.Invoke(parseResult);
            Command command = parseResult.CommandResult.Command;
            if (Details.TryGetValue(command is RootCommand ? Tool : command.Name, out string? details))
            {
                TextWriter output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Details:");
                foreach (string line in details.Split('\n'))
                {
                    output.WriteLine(line.Length == 0 ? string.Empty : "  " + line);
                }

                output.WriteLine();
            }

            return code;
        }
    }
}
