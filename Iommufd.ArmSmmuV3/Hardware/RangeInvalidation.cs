namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The range fields of a TLBI by address (spec §4.4.1.1), shared by the SMMU model and the host driver's guest
/// command checks so that both agree on what is legal.
/// </summary>
public static class RangeInvalidation
{
    /// <summary>
    /// Without IDR3.RIL, TG, TTL, NUM and SCALE are RES0; with TG = 0, TTL, NUM and SCALE are RES0; SCALE[5] exists
    /// only with IDR5.DS; and NUM = SCALE = 0 with an effective TTL of 0 is the Reserved combination. TTL = 1 with
    /// the 16K granule counts as 0 without DS, so that encoding with NUM = SCALE = 0 is Reserved too.
    /// </summary>
    public static bool IsLegal(in SmmuCommand command, bool rangeInvalidation, bool ds)
    {
        if (command.Tg == 0 || !rangeInvalidation)
        {
            return command.Tg == 0 && command.Ttl == 0 && command.Num == 0 && command.Scale == 0;
        }

        if (!ds && command.Scale > 31)
        {
            return false;
        }

        return command.Num != 0 || command.Scale != 0 || EffectiveTtl(command, ds) != 0;
    }

    /// <summary>TTL as the SMMU uses it: 16K with TTL = 1 needs DS, otherwise it is treated as 0.</summary>
    public static int EffectiveTtl(in SmmuCommand command, bool ds) =>
        command.Tg == SmmuCommand.TG_16K && command.Ttl == 1 && !ds ? 0 : command.Ttl;
}
