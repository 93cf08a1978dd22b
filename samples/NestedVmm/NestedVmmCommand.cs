using System.Globalization;
using Iommufd.Vmm;

namespace NestedVmm;

/// <summary>
/// The command line of the main job: <c>nested-vmm [--path trap|hw|sw|all] [--threads N] [--devices N]
/// [--duration SECONDS] [--rounds N] [--trap-cost PRESET|MICROSECONDS] [--json] [--quiet]</c>. With
/// <c>--json</c>, standard output holds only the JSON document; everything else goes to standard error.
/// </summary>
public static class NestedVmmCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (!TryParse(args, out var options, out bool json, out string? problem))
        {
            error.WriteLine(problem);
            error.WriteLine("usage: nested-vmm [--path trap|hw|sw|all] [--threads N] [--devices N] [--duration SECONDS] [--rounds N] [--trap-cost PRESET|MICROSECONDS] [--json] [--quiet]");
            return 2;
        }

        var report = NestedVmmScenario.Run(options, json ? error : output);
        if (json)
        {
            report.WriteJson(output);
        }
        else
        {
            output.WriteLine();
            report.WriteTable(output);
        }

        return report.Passed ? 0 : 1;
    }

    internal static bool TryParse(string[] args, out NestedVmmOptions options, out string? problem) => TryParse(args, out options, out _, out problem);

    internal static bool TryParse(string[] args, out NestedVmmOptions options, out bool json, out string? problem)
    {
        options = new NestedVmmOptions();
        json = false;
        problem = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? value = i + 1 < args.Length ? args[i + 1] : null;
            switch (arg)
            {
                case "--path" when value is not null:
                    options.Paths.Clear();
                    foreach (var p in value.Split(','))
                    {
                        switch (p)
                        {
                            case "trap": options.Paths.Add(GuestPath.Trap); break;
                            case "hw": options.Paths.Add(GuestPath.HardwareVcmdq); break;
                            case "sw": options.Paths.Add(GuestPath.SoftwareVcmdq); break;
                            case "all": options.Paths.AddRange([GuestPath.Trap, GuestPath.HardwareVcmdq, GuestPath.SoftwareVcmdq]); break;
                            default: problem = $"unknown path '{p}'"; return false;
                        }
                    }

                    i++;
                    break;
                case "--threads" when TryInt(value, 1, 8, out int threads):
                    options.GuestThreads = threads;
                    i++;
                    break;
                case "--devices" when TryInt(value, 1, 8, out int devices):
                    options.Devices = devices;
                    i++;
                    break;
                case "--duration" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds <= 600:
                    options.Duration = TimeSpan.FromSeconds(seconds);
                    i++;
                    break;
                case "--rounds" when TryInt(value, 1, 10_000_000, out int rounds):
                    options.RoundsPerThread = rounds;
                    i++;
                    break;
                case "--trap-cost" when TrapCost.TryParse(value, out var cost):
                    options.TrapCost = cost;
                    i++;
                    break;
                case "--json":
                    json = true;
                    break;
                case "--quiet":
                    options.Progress = false;
                    break;
                default:
                    problem = $"bad argument '{arg}'";
                    return false;
            }
        }

        return true;
    }

    private static bool TryInt(string? text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
}
