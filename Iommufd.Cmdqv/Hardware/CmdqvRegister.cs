using System.Diagnostics.CodeAnalysis;

namespace Iommufd.Cmdqv.Hardware;

/// <summary>
/// Tegra241 CMDQV register offsets (the TEGRA241_* defines of drivers/iommu/arm/arm-smmu-v3/tegra241-cmdqv.c). Global
/// registers in the config page; VINTF registers at <see cref="VintfBase"/> + <see cref="VintfStride"/> × v; VCMDQ
/// registers at page base + <see cref="VcmdqStride"/> × q.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Register names are the hardware's mnemonics.")]
public static class CmdqvRegister
{
    // Layout of the MMIO space.
    public const uint PageSize = 0x10000;
    public const uint ConfigPage = 0x00000;
    public const uint GlobalVcmdqPage0 = 0x10000;
    public const uint GlobalVcmdqPage1 = 0x20000;
    public const uint VintfPagesBase = 0x30000;
    public const uint VintfPagesStride = 0x20000;

    // Global registers (config page).
    public const uint CONFIG = 0x000;
    public const uint PARAM = 0x004;
    public const uint STATUS = 0x008;
    public const uint VINTF_ERR_MAP = 0x014;
    public const uint VINTF_INT_MASK = 0x01C;
    public const uint CMDQ_ERR_MAP = 0x024;
    public const uint CMDQ_ALLOC = 0x200;

    // VINTF registers (config page, base 0x1000 + 0x100 × v).
    public const uint VintfBase = 0x1000;
    public const uint VintfStride = 0x100;
    public const uint VINTF_CONFIG = 0x000;
    public const uint VINTF_STATUS = 0x004;
    public const uint VINTF_SID_MATCH = 0x040;
    public const uint VINTF_SID_REPLACE = 0x080;
    public const uint VINTF_LVCMDQ_ERR_MAP = 0x0C0;

    // VCMDQ page 0 registers (0x80 stride).
    public const uint VcmdqStride = 0x80;
    public const uint VCMDQ_CONS = 0x00;
    public const uint VCMDQ_PROD = 0x04;
    public const uint VCMDQ_CONFIG = 0x08;
    public const uint VCMDQ_STATUS = 0x0C;
    public const uint VCMDQ_GERROR = 0x10;

    /// <summary>VCMDQ_GERROR.CMDQ_INIT_ERR [2]: the queue could not be initialised.</summary>
    public const uint VCMDQ_GERROR_CMDQ_INIT_ERR = 1u << 2;
    public const uint VCMDQ_GERRORN = 0x14;

    // VCMDQ page 1 registers (0x80 stride).
    public const uint VCMDQ_BASE = 0x00;
    public const uint VCMDQ_CONS_INDX_BASE = 0x08;

    // Fields.
    public const uint CONFIG_CMDQV_EN = 1 << 0;
    public const uint VINTF_CONFIG_EN = 1 << 0;
    public const int VINTF_CONFIG_VMID_SHIFT = 1;
    public const uint VINTF_CONFIG_HYP_OWN = 1 << 17;
    public const uint CMDQ_ALLOC_ALLOCATED = 1 << 0;
    public const int CMDQ_ALLOC_LVCMDQ_SHIFT = 1;
    public const int CMDQ_ALLOC_VINTF_SHIFT = 15;
    public const uint VCMDQ_EN = 1 << 0;
    public const ulong VCMDQ_BASE_ADDR_MASK = 0x0000_FFFF_FFFF_FFE0; // ADDR [47:5]
}
