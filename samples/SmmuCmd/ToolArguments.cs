namespace SmmuCmd;

/// <summary>
/// The options of one subcommand, parsed by hand: flags (<c>--binary</c>), options with a value given as the next
/// argument or after <c>=</c> (<c>--queue trap</c>, <c>--queue=trap</c>), and at most one input path, where
/// <c>-</c> (or none) means standard input. <c>--</c> ends the options.
/// </summary>
internal sealed class ToolArguments
{
    public bool Help { get; private set; }

    public bool Binary { get; private set; }

    public bool Commands { get; private set; }

    public bool Verbose { get; private set; }

    /// <summary>The input path; null or <c>-</c> for standard input.</summary>
    public string? Input { get; private set; }

    public string? Output { get; private set; }

    public string? Queue { get; private set; }

    /// <summary>Every <c>--features</c> list, in order.</summary>
    public List<string> Features { get; } = [];

    public bool ReadsStdin => Input is null or "-";

    /// <summary>
    /// Parses <paramref name="args"/> from index 1 (index 0 is the subcommand); <paramref name="allowed"/> lists the
    /// canonical long names this subcommand takes (<c>--help</c> is always allowed).
    /// </summary>
    public static bool TryParse(string[] args, IReadOnlyCollection<string> allowed, out ToolArguments parsed, out string error)
    {
        parsed = new ToolArguments();
        bool optionsEnded = false;
        for (int i = 1; i < args.Length; i++)
        {
            string arg = args[i];
            if (optionsEnded || arg == "-" || !arg.StartsWith('-'))
            {
                if (parsed.Input is not null)
                {
                    error = $"more than one input: '{parsed.Input}' and '{arg}'.";
                    return false;
                }

                parsed.Input = arg;
                continue;
            }

            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }

            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            string name = Canonical(eq < 0 ? arg : arg[..eq]);
            string? inlineValue = eq < 0 ? null : arg[(eq + 1)..];
            if (name != "--help" && !allowed.Contains(name))
            {
                error = $"unknown option '{arg}'.";
                return false;
            }

            if (name is "--help" or "--binary" or "--commands" or "--verbose")
            {
                if (inlineValue is not null)
                {
                    error = $"{name} takes no value.";
                    return false;
                }

                parsed.Set(name, null);
                continue;
            }

            string? value = inlineValue ?? (i + 1 < args.Length ? args[++i] : null);
            if (value is null)
            {
                error = $"{name} needs a value.";
                return false;
            }

            parsed.Set(name, value);
        }

        error = string.Empty;
        return true;
    }

    private static string Canonical(string name) => name switch
    {
        "-h" => "--help",
        "-b" => "--binary",
        "-o" => "--output",
        "-q" => "--queue",
        "-f" => "--features",
        "-v" => "--verbose",
        _ => name,
    };

    private void Set(string name, string? value)
    {
        switch (name)
        {
            case "--help": Help = true; break;
            case "--binary": Binary = true; break;
            case "--commands": Commands = true; break;
            case "--verbose": Verbose = true; break;
            case "--output": Output = value; break;
            case "--queue": Queue = value; break;
            case "--features": Features.Add(value!); break;
        }
    }
}
