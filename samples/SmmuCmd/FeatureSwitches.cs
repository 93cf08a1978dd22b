using System.CommandLine.Completions;
using System.Globalization;
using Iommufd.ArmSmmuV3.Hardware;

namespace SmmuCmd;

/// <summary>
/// Turns <c>--features</c> lists such as <c>no-ats,no-ril,hyp,pri</c> into <see cref="SmmuV3Features"/>, starting
/// from the emulator's defaults (stage 1 and 2, ATS, range invalidation, 20-bit SubstreamIDs; no PRI, HYP, DS or
/// MPAM; STALL_MODEL = 1, no stalls).
/// </summary>
internal static class FeatureSwitches
{
    /// <summary>The narrowest and widest SubstreamID the emulated SMMU offers (IDR1.SSIDSIZE).</summary>
    public const int MinSsidBits = 0;

    /// <inheritdoc cref="MinSsidBits"/>
    public const int MaxSsidBits = 20;

    /// <summary>Every switch name, for help and error text; each also takes a <c>no-</c> prefix.</summary>
    public const string Names = "s1, s2, ats, pri, ril, hyp, ds, mpam, stall (each also as no-NAME), ssid-bits=N (N = 0..20)";

    private static readonly string[] Switches = ["s1", "s2", "ats", "pri", "ril", "hyp", "ds", "mpam", "stall"];

    /// <summary>What a shell may complete after <c>--features</c>: every switch, its <c>no-</c> form and <c>ssid-bits=</c>.</summary>
    public static IEnumerable<CompletionItem> Completions(CompletionContext context) =>
        Switches.SelectMany(name => new[] { name, "no-" + name }).Append("ssid-bits=")
            .Where(label => label.StartsWith(context.WordToComplete, StringComparison.OrdinalIgnoreCase))
            .Select(label => new CompletionItem(label));

    /// <summary>Parses a SubstreamID width; the error states the range.</summary>
    public static bool TryParseSsidBits(string text, out int bits, out string error)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out bits) && bits <= MaxSsidBits)
        {
            error = string.Empty;
            return true;
        }

        error = $"ssid-bits must be {MinSsidBits}..{MaxSsidBits}, not {MessageText.Quote(text)}.";
        return false;
    }

    /// <summary>Applies one comma- or space-separated list to <paramref name="features"/>.</summary>
    public static bool TryApply(string list, ref SmmuV3Features features, out string error)
    {
        foreach (string item in list.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryApplyOne(item, ref features, out error))
            {
                return false;
            }
        }

        error = string.Empty;
        return true;
    }

    private static bool TryApplyOne(string item, ref SmmuV3Features features, out string error)
    {
        error = string.Empty;
        const string SsidBits = "ssid-bits=";
        if (item.StartsWith(SsidBits, StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseSsidBits(item[SsidBits.Length..], out int bits, out error))
            {
                return false;
            }

            features = features with { SsidBits = bits };
            return true;
        }

        bool on = !item.StartsWith("no-", StringComparison.OrdinalIgnoreCase);
        string name = on ? item : item[3..];
        SmmuV3Features? changed = name.ToUpperInvariant() switch
        {
            "S1" => features with { Stage1 = on },
            "S2" => features with { Stage2 = on },
            "ATS" => features with { Ats = on },
            "PRI" => features with { Pri = on },
            "RIL" => features with { RangeInvalidation = on },
            "HYP" => features with { Hyp = on },
            "DS" => features with { Ds = on },
            "MPAM" => features with { Mpam = on },
            "STALL" => features with { StallModel = on ? 0 : 1 },
            _ => null,
        };
        if (changed is null)
        {
            error = $"unknown feature {MessageText.Quote(item)}; known: {Names}.";
            return false;
        }

        features = changed;
        return true;
    }
}
