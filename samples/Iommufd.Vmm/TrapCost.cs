using System.Diagnostics;
using System.Globalization;

namespace Iommufd.Vmm;

/// <summary>
/// What one trapped guest access costs before the VMM's emulation runs: the VM exit, the return to the VMM and the
/// re-entry. The VMM kit spends it, busy, on the trapping (vCPU) thread for every emulated MMIO access, as a real
/// exit keeps that CPU; the emulation's own work comes on top.
/// </summary>
/// <remarks>
/// The presets are published figures of the kvm-unit-tests Arm micro-benchmarks (<c>arm/micro-bench.c</c>:
/// <c>mmio_read_user</c> for an MMIO exit handled in user space, <c>hvc</c> for an exit handled in the kernel).
/// </remarks>
/// <param name="Name">The preset's name, as the command lines take it ("kunpeng920"), or "custom".</param>
/// <param name="Microseconds">The cost of one trap.</param>
/// <param name="Source">Where the figure comes from.</param>
public sealed record TrapCost(string Name, double Microseconds, string Source)
{
    /// <summary>An MMIO exit to user space on a Kunpeng 920: 2.3 µs. The default.</summary>
    public static TrapCost Kunpeng920 { get; } = new("kunpeng920", 2.3, "MMIO exit to user space on Kunpeng 920 (kvm-unit-tests micro-bench)");

    /// <summary>An MMIO exit to user space on a Phytium S2500: 7.2 µs.</summary>
    public static TrapCost PhytiumS2500 { get; } = new("phytium-s2500", 7.2, "MMIO exit to user space on Phytium S2500 (kvm-unit-tests micro-bench)");

    /// <summary>An hvc round trip, i.e. an exit handled in the kernel without going to user space: 0.41 µs.</summary>
    public static TrapCost Hvc { get; } = new("hvc", 0.41, "hvc round trip, exit handled in the kernel (kvm-unit-tests micro-bench)");

    /// <summary>Emulation only: a trap costs nothing beyond the emulation itself.</summary>
    public static TrapCost None { get; } = new("none", 0, "emulation only: no exit cost");

    /// <summary>The cost the kit uses unless told otherwise: <see cref="Kunpeng920"/>.</summary>
    public static TrapCost Default => Kunpeng920;

    /// <summary>Every named preset.</summary>
    public static IReadOnlyList<TrapCost> Presets { get; } = [Kunpeng920, PhytiumS2500, Hvc, None];

    /// <summary>A cost of one's own, in microseconds (0 to 1000).</summary>
    public static TrapCost Custom(double microseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(microseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(microseconds, 1000);
        return new("custom", microseconds, "given on the command line");
    }

    /// <summary>
    /// A preset's name (<c>kunpeng920</c>, <c>phytium-s2500</c>, <c>hvc</c>, <c>none</c>) or a time in microseconds,
    /// with an optional unit: <c>1.5</c>, <c>1.5us</c>, <c>800ns</c>.
    /// </summary>
    public static bool TryParse(string? text, out TrapCost cost)
    {
        cost = Default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        foreach (var preset in Presets)
        {
            if (string.Equals(preset.Name, text, StringComparison.OrdinalIgnoreCase))
            {
                cost = preset;
                return true;
            }
        }

        double scale = 1;
        if (text.EndsWith("ns", StringComparison.OrdinalIgnoreCase))
        {
            scale = 1e-3;
            text = text[..^2];
        }
        else if (text.EndsWith("us", StringComparison.OrdinalIgnoreCase) || text.EndsWith("µs", StringComparison.Ordinal))
        {
            text = text[..^2];
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            return false;
        }

        value *= scale;
        if (value < 0 || value > 1000)
        {
            return false;
        }

        cost = Custom(value);
        return true;
    }

    /// <summary>"kunpeng920 (2.3 µs per trap)", "none (0 µs per trap, emulation only)".</summary>
    public override string ToString() => Microseconds == 0
        ? $"{Name} (0 µs per trap, emulation only)"
        : string.Create(CultureInfo.InvariantCulture, $"{Name} ({Microseconds:0.###} µs per trap)");

    /// <summary>Spends the cost on the calling thread, busy: a vCPU in an exit runs nothing else.</summary>
    internal void Spend()
    {
        if (Microseconds <= 0)
        {
            return;
        }

        long end = Stopwatch.GetTimestamp() + (long)(Microseconds * Stopwatch.Frequency / 1e6);
        while (Stopwatch.GetTimestamp() < end)
        {
            Thread.SpinWait(8);
        }
    }
}
