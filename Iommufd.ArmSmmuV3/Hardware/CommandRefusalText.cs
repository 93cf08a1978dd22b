using System.Text;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The words shared by the two accounts of a refused command, <see cref="SmmuCommandLegality.Describe"/> (the SMMU's
/// CERROR_ILL) and <see cref="Driver.GuestCommandConverter.Describe"/> (the trap path's EIO): reserved bits as runs, the
/// range-TLBI rules and opcode names.
/// </summary>
internal static class CommandRefusalText
{
    /// <summary>
    /// Why <see cref="RangeInvalidation.IsLegal"/> refuses a TLBI by address (Arm IHI 0070 §4.4.1.1);
    /// <paramref name="who"/> names the SMMU whose IDR3.RIL and IDR5.DS apply.
    /// </summary>
    internal static string? RangeReason(in SmmuCommand c, bool ril, bool ds, string who)
    {
        if (c.Tg == 0)
        {
            string nonZero = NonZero(c);
            return nonZero.Length == 0 ? null : $"{nonZero} must be 0 when TG = 0";
        }

        if (!ril)
        {
            return $"TG = {TgName(c.Tg)} needs range invalidation, which {who} lacks (IDR3.RIL = 0): "
                + "TG, TTL, NUM and SCALE are RES0";
        }

        if (!ds && c.Scale > 31)
        {
            return $"SCALE = {c.Scale} needs IDR5.DS; without it SCALE has five bits";
        }

        if (c.Num != 0 || c.Scale != 0 || RangeInvalidation.EffectiveTtl(c, ds) != 0)
        {
            return null;
        }

        return c.Ttl == 0
            ? "NUM = SCALE = TTL = 0 with TG != 0 is Reserved (spec §4.4.1.1)"
            : "NUM = SCALE = 0 with TTL = 1 on the 16K granule is Reserved without IDR5.DS, which treats that TTL "
                + "as 0 (spec §4.4.1.1)";
    }

    private static string NonZero(in SmmuCommand c)
    {
        var names = new List<string>(3);
        if (c.Ttl != 0)
        {
            names.Add($"TTL = {c.Ttl}");
        }

        if (c.Num != 0)
        {
            names.Add($"NUM = {c.Num}");
        }

        if (c.Scale != 0)
        {
            names.Add($"SCALE = {c.Scale}");
        }

        return string.Join(", ", names);
    }

    /// <summary>The reserved bits that are set, as runs numbered over the 128-bit entry (bit 64 is w1[0]).</summary>
    internal static string Res0Reason(in SmmuCommand c, int archMinorRevision)
    {
        SmmuCommandLayout.DefinedMask(c.Opcode, out ulong m0, out ulong m1);
        UInt128 res0 = new(c.Word1 & ~m1, c.Word0 & ~m0);
        if (res0 == UInt128.Zero)
        {
            // Defined by the architecture, but not implemented here (SmmuCommandLayout.HasReservedBitsSet).
            return (c.Word1 & SmmuCommandLayout.W1_TTL128) != 0
                ? $"TTL128 is RES0 without 128-bit descriptors for {NameOf(c.Opcode)}"
                : $"address bits above the implemented size are RES0 on SMMUv3.{archMinorRevision} for {NameOf(c.Opcode)}";
        }

        var runs = new StringBuilder();
        for (int bit = 0; bit < 128; bit++)
        {
            if (((res0 >> bit) & UInt128.One) == UInt128.Zero)
            {
                continue;
            }

            int high = bit;
            while (high + 1 < 128 && ((res0 >> (high + 1)) & UInt128.One) != UInt128.Zero)
            {
                high++;
            }

            runs.Append(runs.Length == 0 ? "" : ", ").Append(high == bit ? $"[{bit}]" : $"[{high}:{bit}]");
            bit = high;
        }

        return $"RES0 bits {runs} are set for {NameOf(c.Opcode)}";
    }

    private static string TgName(byte tg) => tg switch { 1 => "4K", 2 => "16K", 3 => "64K", _ => "0" };

    internal static string NameOf(SmmuOpcode opcode) =>
        SmmuCommandDecoder.GetName(opcode) ?? $"opcode 0x{(byte)opcode:x2}";
}
