using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// Where one SMMUv3-format command queue's registers sit in an MMIO space: PROD, CONS (with ERR [30:24]), and the
/// GERROR/GERRORN pair whose bit 0 is CMDQ_ERR. The SMMU's own queue and every CMDQV VCMDQ share this shape
/// (Arm IHI 0070 §6.3.25–§6.3.28; tegra241-cmdqv.c TEGRA241_VCMDQ_*).
/// </summary>
public readonly record struct CommandQueueRegisters(uint Prod, uint Cons, uint Gerror, uint Gerrorn)
{
    /// <summary>The SMMU's Non-secure command queue: CMDQ_PROD 0x98, CMDQ_CONS 0x9C, GERROR 0x60, GERRORN 0x64.</summary>
    public static CommandQueueRegisters Smmu => new(
        (uint)SmmuRegister.CMDQ_PROD, (uint)SmmuRegister.CMDQ_CONS, (uint)SmmuRegister.GERROR, (uint)SmmuRegister.GERRORN);

    /// <summary>
    /// Logical VCMDQ <paramref name="lvcmdq"/> of VINTF <paramref name="vintf"/>, in that VINTF's page 0 (at 0x30000 +
    /// 128 KiB × vintf, 0x80 bytes per queue): CONS +0x00, PROD +0x04, GERROR +0x10, GERRORN +0x14.
    /// </summary>
    public static CommandQueueRegisters Lvcmdq(int vintf, int lvcmdq)
    {
        uint page0 = CmdqvRegister.VintfPagesBase + ((uint)vintf * CmdqvRegister.VintfPagesStride) + ((uint)lvcmdq * CmdqvRegister.VcmdqStride);
        return new(page0 + CmdqvRegister.VCMDQ_PROD, page0 + CmdqvRegister.VCMDQ_CONS, page0 + CmdqvRegister.VCMDQ_GERROR, page0 + CmdqvRegister.VCMDQ_GERRORN);
    }
}
