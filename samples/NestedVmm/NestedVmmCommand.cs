using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Iommufd.Vmm;

namespace NestedVmm;

/// <summary>
/// The command line of the main job (System.CommandLine): <c>nested-vmm [--path trap|hw|sw|all] [--threads N]
/// [--devices N] [--duration SECONDS | --rounds N] [--trap-cost PRESET|TIME] [--json] [--quiet] [--verbose]</c>, with
/// <c>--help</c>, <c>--version</c> and shell completion. With <c>--json</c>, standard output holds only the JSON
/// document; everything else goes to standard error.
/// </summary>
public static class NestedVmmCommand
{
    /// <summary>Every path passed.</summary>
    public const int ExitPassed = 0;

    /// <summary>A path used a stale translation or a guest command failed.</summary>
    public const int ExitFailed = 1;

    /// <summary>The command line was refused (System.CommandLine's parse-error code).</summary>
    public const int ExitUsage = 2;

    /// <summary>Interrupted (Ctrl-C): the current path stopped and what was measured was printed.</summary>
    public const int ExitInterrupted = 130;

    private const int MaxThreads = 8;
    private const int MaxDevices = 8;
    private const double MaxDurationSeconds = 600;
    private const int MaxRounds = 10_000_000;

    /// <summary>Parses <paramref name="args"/> and runs the job (or prints help, the version or the errors).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,

            // After Ctrl-C the current path ends within a round and the report follows; give it time to.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(10),
        };
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var problem in parse.Errors)
            {
                error.WriteLine(problem.Message);
            }

            error.WriteLine("see nested-vmm --help");
            return ExitUsage;
        }

        return parse.Invoke(configuration);
    }

    /// <summary>The root command, its options and its action.</summary>
    public static RootCommand Create()
    {
        var path = new Option<List<InvalidationPath>>("--path", "-p")
        {
            Description = "Paths to run, in order: trap, hw (hardware VCMDQ), sw (software VCMDQ) or all; a comma list or repeated.",
            HelpName = "trap|hw|sw|all",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = ParsePaths,
            DefaultValueFactory = _ => [InvalidationPath.Trap, InvalidationPath.HardwareVcmdq, InvalidationPath.SoftwareVcmdq],
        };
        var threads = RangedInt("--threads", "-t", "Guest vCPU threads", 1, MaxThreads, 2);
        var devices = RangedInt("--devices", null, "Passed-through devices (the first is ATS-capable)", 1, MaxDevices, 2);
        var duration = new Option<double>("--duration", "-d")
        {
            Description = $"Seconds each path runs, more than 0 and at most {MaxDurationSeconds:0} [default: 3]. Excludes --rounds.",
            HelpName = "seconds",
        };
        duration.Validators.Add(r =>
        {
            double value = r.GetValueOrDefault<double>();
            if (!(value > 0 && value <= MaxDurationSeconds))
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"--duration must be more than 0 and at most {MaxDurationSeconds:0} seconds (got {value})."));
            }
        });
        var rounds = RangedInt("--rounds", "-r", "Map/DMA/unmap rounds per vCPU instead of a duration", 1, MaxRounds, null);
        var trapCost = new Option<TrapCost>("--trap-cost")
        {
            Description = $"Exit cost charged per trapped guest access: a preset ({string.Join(", ", TrapCost.Presets.Select(p => $"{p.Name} = {p.Microseconds.ToString(CultureInfo.InvariantCulture)} µs"))}) or a time from 0 to 1000 µs (1.5, 1.5us, 800ns).",
            HelpName = "preset|time",
            CustomParser = ParseTrapCost,
            DefaultValueFactory = _ => TrapCost.Default,
        };
        var json = new Option<bool>("--json") { Description = "Print only a JSON document on standard output (every figure per path, the ratios); progress goes to standard error." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print nothing but the report (no run description, no progress)." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log the emulation's errno trace (why each refused call was refused) and driver events to standard error." };

        var root = new RootCommand(
            "The main job: one VM with devices doing DMA under map/unmap churn, on the trap path, the hardware VCMDQ and the software VCMDQ, "
            + "and how each invalidates. Exit codes: 0 every path passed; 1 a stale translation or a command error; 2 bad command line; "
            + "130 interrupted (Ctrl-C ends the current path and still prints what was measured).")
        {
            path, threads, devices, duration, rounds, trapCost, json, quiet, verbose,
        };
        root.Validators.Add(r =>
        {
            if (r.GetResult(duration) is { Implicit: false } && r.GetResult(rounds) is { Implicit: false })
            {
                r.AddError("--duration and --rounds exclude each other: a path runs either for a time or for a number of rounds.");
            }
        });
        root.SetAction((parse, cancel) =>
        {
            var options = new NestedVmmOptions
            {
                GuestThreads = parse.GetValue(threads),
                Devices = parse.GetValue(devices),
                RoundsPerThread = parse.GetValue(rounds),
                TrapCost = parse.GetValue(trapCost)!,
                Progress = !parse.GetValue(quiet),
                Trace = parse.GetValue(verbose) ? parse.InvocationConfiguration.Error : null,
            };
            if (parse.GetResult(duration) is { Implicit: false })
            {
                options.Duration = TimeSpan.FromSeconds(parse.GetValue(duration));
            }

            options.Paths.Clear();
            options.Paths.AddRange(parse.GetValue(path)!);
            var configuration = parse.InvocationConfiguration;
            bool asJson = parse.GetValue(json);

            // The job runs off the invoking thread so that Ctrl-C (which cancels the token) is seen between rounds.
            return Task.Run(() => Execute(options, asJson, parse.GetValue(quiet), configuration.Output, configuration.Error, cancel), CancellationToken.None);
        });
        return root;
    }

    private static int Execute(NestedVmmOptions options, bool json, bool quiet, TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var log = quiet ? TextWriter.Null : json ? error : output;
        var report = !quiet && !json && LiveProgress.Available(output)
            ? LiveProgress.Run(options, output, cancel)
            : NestedVmmScenario.Run(options, log, cancel);
        if (json)
        {
            report.WriteJson(output);
        }
        else
        {
            if (!quiet)
            {
                output.WriteLine();
            }

            report.WriteTable(output);
        }

        return report.Cancelled ? ExitInterrupted : report.Passed ? ExitPassed : ExitFailed;
    }

    private static Option<int> RangedInt(string name, string? alias, string what, int min, int max, int? defaultValue)
    {
        var option = alias is null ? new Option<int>(name) : new Option<int>(name, alias);
        option.Description = string.Create(CultureInfo.InvariantCulture, $"{what}, {min} to {max:N0}.");
        option.HelpName = "N";
        if (defaultValue is int value)
        {
            option.DefaultValueFactory = _ => value;
        }

        option.Validators.Add(r =>
        {
            int got = r.GetValueOrDefault<int>();
            if (got < min || got > max)
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {min} to {max:N0} (got {got})."));
            }
        });
        return option;
    }

    private static List<InvalidationPath> ParsePaths(ArgumentResult result)
    {
        var paths = new List<InvalidationPath>();
        foreach (var token in result.Tokens)
        {
            foreach (var name in token.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                switch (name.ToLowerInvariant())
                {
                    case "trap": paths.Add(InvalidationPath.Trap); break;
                    case "hw": paths.Add(InvalidationPath.HardwareVcmdq); break;
                    case "sw": paths.Add(InvalidationPath.SoftwareVcmdq); break;
                    case "all": paths.AddRange([InvalidationPath.Trap, InvalidationPath.HardwareVcmdq, InvalidationPath.SoftwareVcmdq]); break;
                    default:
                        result.AddError($"--path: unknown path '{name}' (valid: trap, hw, sw, all).");
                        return paths;
                }
            }
        }

        if (paths.Count == 0)
        {
            result.AddError("--path needs at least one of trap, hw, sw, all.");
        }

        return paths;
    }

    private static TrapCost? ParseTrapCost(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (TrapCost.TryParse(text, out var cost))
        {
            return cost;
        }

        result.AddError($"--trap-cost: '{text}' is neither a preset ({string.Join(", ", TrapCost.Presets.Select(p => p.Name))}) nor a time from 0 to 1000 µs (1.5, 1.5us, 800ns).");
        return null;
    }
}
