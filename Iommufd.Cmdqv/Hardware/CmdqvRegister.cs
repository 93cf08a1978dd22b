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
    /// <summary>The size of each MMIO page of the CMDQV, 64KB (tegra241-cmdqv.c TEGRA241_CMDQV_CONFIG_SIZE, SZ_64K).</summary>
    public const uint PageSize = 0x10000;
    /// <summary>Offset of the config page: the global and VINTF registers (TEGRA241_CMDQV_CONFIG_BASE).</summary>
    public const uint ConfigPage = 0x00000;
    /// <summary>Offset of page 0 of the global VCMDQs, their CONS, PROD, CONFIG, STATUS and GERROR registers (TEGRA241_VCMDQ_PAGE0_BASE).</summary>
    public const uint GlobalVcmdqPage0 = 0x10000;
    /// <summary>Offset of page 1 of the global VCMDQs, their BASE and CONS_INDX_BASE registers (TEGRA241_VCMDQ_PAGE1_BASE).</summary>
    public const uint GlobalVcmdqPage1 = 0x20000;
    /// <summary>Offset of the first VINTF's logical-VCMDQ pages (TEGRA241_VINTF_PAGE_BASE), the pages a guest gets mmapped.</summary>
    public const uint VintfPagesBase = 0x30000;
    /// <summary>Distance between the logical-VCMDQ pages of consecutive VINTFs, 128KB: a page 0 and a page 1 each (TEGRA241_VINTFi_PAGE0).</summary>
    public const uint VintfPagesStride = 0x20000;

    // Global registers (config page).
    /// <summary>CMDQV_CONFIG (TEGRA241_CMDQV_CONFIG): CMDQV_EN enables the CMDQV.</summary>
    public const uint CONFIG = 0x000;
    /// <summary>CMDQV_PARAM (TEGRA241_CMDQV_PARAM): version and the log2 counts of VCMDQs, VINTFs and SID pairs per VINTF (<see cref="CmdqvFeatures.Param"/>).</summary>
    public const uint PARAM = 0x004;
    /// <summary>CMDQV_STATUS (TEGRA241_CMDQV_STATUS): CMDQV_ENABLED once CONFIG's enable has taken effect.</summary>
    public const uint STATUS = 0x008;
    /// <summary>CMDQV_VINTF_ERR_MAP (TEGRA241_CMDQV_VINTF_ERR_MAP): a 64-bit map, one bit per VINTF with a queue in error; read as two 32-bit words.</summary>
    public const uint VINTF_ERR_MAP = 0x014;
    /// <summary>CMDQV_VINTF_INT_MASK (TEGRA241_CMDQV_VINTF_INT_MASK): masks the error interrupt of each VINTF.</summary>
    public const uint VINTF_INT_MASK = 0x01C;
    /// <summary>CMDQV_CMDQ_ERR_MAP(0) (TEGRA241_CMDQV_CMDQ_ERR_MAP): the first of four 32-bit words, one bit per global VCMDQ in error, 4 bytes apart.</summary>
    public const uint CMDQ_ERR_MAP = 0x024;
    /// <summary>CMDQV_CMDQ_ALLOC(0) (TEGRA241_CMDQV_CMDQ_ALLOC): the first of one 32-bit register per global VCMDQ, 4 bytes apart, assigning it to a VINTF as a logical VCMDQ.</summary>
    public const uint CMDQ_ALLOC = 0x200;

    // VINTF registers (config page, base 0x1000 + 0x100 × v).
    /// <summary>Offset in the config page of VINTF0's registers (TEGRA241_VINTF(0)).</summary>
    public const uint VintfBase = 0x1000;
    /// <summary>Distance between the register blocks of consecutive VINTFs (TEGRA241_VINTF(v)).</summary>
    public const uint VintfStride = 0x100;
    /// <summary>VINTF_CONFIG, relative to the VINTF's block (TEGRA241_VINTF_CONFIG): EN, VMID [16:1] and HYP_OWN.</summary>
    public const uint VINTF_CONFIG = 0x000;
    /// <summary>VINTF_STATUS (TEGRA241_VINTF_STATUS): ENABLED [0] once CONFIG's enable has taken effect, and a status code [3:1].</summary>
    public const uint VINTF_STATUS = 0x004;
    /// <summary>VINTF_SID_MATCH(0) (TEGRA241_VINTF_SID_MATCH): the first of the per-pair registers, 4 bytes apart, holding the virtual StreamID a guest command names.</summary>
    public const uint VINTF_SID_MATCH = 0x040;
    /// <summary>VINTF_SID_REPLACE(0) (TEGRA241_VINTF_SID_REPLACE): the first of the per-pair registers, 4 bytes apart, holding the physical StreamID that replaces the matching one.</summary>
    public const uint VINTF_SID_REPLACE = 0x080;
    /// <summary>VINTF_LVCMDQ_ERR_MAP_64(0) (TEGRA241_VINTF_LVCMDQ_ERR_MAP_64): the first of two 64-bit maps, one bit per logical VCMDQ of the VINTF in error.</summary>
    public const uint VINTF_LVCMDQ_ERR_MAP = 0x0C0;

    // VCMDQ page 0 registers (0x80 stride).
    /// <summary>Distance between the registers of consecutive VCMDQs in a page (TEGRA241_VCMDQ_PAGE0(q), 0x80 × q).</summary>
    public const uint VcmdqStride = 0x80;
    /// <summary>VCMDQ_CONS in page 0 (TEGRA241_VCMDQ_CONS): the consumer index with its wrap bit, and ERR [30:24] as SMMU_CMDQ_CONS.ERR.</summary>
    public const uint VCMDQ_CONS = 0x00;
    /// <summary>VCMDQ_PROD in page 0 (TEGRA241_VCMDQ_PROD): the producer index with its wrap bit, as SMMU_CMDQ_PROD.</summary>
    public const uint VCMDQ_PROD = 0x04;
    /// <summary>VCMDQ_CONFIG in page 0 (TEGRA241_VCMDQ_CONFIG): VCMDQ_EN enables the queue.</summary>
    public const uint VCMDQ_CONFIG = 0x08;
    /// <summary>VCMDQ_STATUS in page 0 (TEGRA241_VCMDQ_STATUS): VCMDQ_ENABLED once CONFIG's enable has taken effect.</summary>
    public const uint VCMDQ_STATUS = 0x0C;
    /// <summary>VCMDQ_GERROR in page 0 (TEGRA241_VCMDQ_GERROR): the queue's own global error bits, toggled as SMMU_GERROR.</summary>
    public const uint VCMDQ_GERROR = 0x10;

    /// <summary>VCMDQ_GERROR.CMDQ_INIT_ERR [2]: the queue could not be initialised.</summary>
    public const uint VCMDQ_GERROR_CMDQ_INIT_ERR = 1u << 2;
    /// <summary>VCMDQ_GERRORN in page 0 (TEGRA241_VCMDQ_GERRORN): toggled by software to acknowledge the queue's errors, as SMMU_GERRORN.</summary>
    public const uint VCMDQ_GERRORN = 0x14;

    // VCMDQ page 1 registers (0x80 stride).
    /// <summary>VCMDQ_BASE in page 1 (TEGRA241_VCMDQ_BASE): the queue's address, VCMDQ_ADDR [47:5], and VCMDQ_LOG2SIZE [4:0].</summary>
    public const uint VCMDQ_BASE = 0x00;
    /// <summary>VCMDQ_CONS_INDX_BASE in page 1 (TEGRA241_VCMDQ_CONS_INDX_BASE): where the CMDQV may write the consumer index in memory; the kernel writes 0.</summary>
    public const uint VCMDQ_CONS_INDX_BASE = 0x08;

    // Fields.
    /// <summary>CMDQV_CONFIG.CMDQV_EN [0] (tegra241-cmdqv.c CMDQV_EN).</summary>
    public const uint CONFIG_CMDQV_EN = 1 << 0;
    /// <summary>VINTF_CONFIG.EN [0] (VINTF_EN): enables the VINTF.</summary>
    public const uint VINTF_CONFIG_EN = 1 << 0;
    /// <summary>Shift of VINTF_CONFIG.VMID [16:1] (VINTF_VMID): the VMID the VINTF's invalidations are tagged with.</summary>
    public const int VINTF_CONFIG_VMID_SHIFT = 1;
    /// <summary>VINTF_CONFIG.HYP_OWN [17] (VINTF_HYP_OWN): the host owns the VINTF and its queues take every command; a guest-owned one takes only TLBI_NH_ASID, TLBI_NH_VA, ATC_INV and CMD_SYNC.</summary>
    public const uint VINTF_CONFIG_HYP_OWN = 1 << 17;
    /// <summary>CMDQ_ALLOC.ALLOCATED [0] (CMDQV_CMDQ_ALLOCATED): the global VCMDQ is assigned.</summary>
    public const uint CMDQ_ALLOC_ALLOCATED = 1 << 0;
    /// <summary>Shift of CMDQ_ALLOC.LVCMDQ [7:1] (CMDQV_CMDQ_ALLOC_LVCMDQ): the logical index the VCMDQ takes in its VINTF.</summary>
    public const int CMDQ_ALLOC_LVCMDQ_SHIFT = 1;
    /// <summary>Shift of CMDQ_ALLOC.VINTF [20:15] (CMDQV_CMDQ_ALLOC_VINTF): the VINTF the VCMDQ is assigned to.</summary>
    public const int CMDQ_ALLOC_VINTF_SHIFT = 15;
    /// <summary>VCMDQ_CONFIG.EN [0] (tegra241-cmdqv.c VCMDQ_EN).</summary>
    public const uint VCMDQ_EN = 1 << 0;
    /// <summary>VCMDQ_BASE.ADDR [47:5] (VCMDQ_ADDR): the queue's address, aligned to its size.</summary>
    public const ulong VCMDQ_BASE_ADDR_MASK = 0x0000_FFFF_FFFF_FFE0; // ADDR [47:5]
}
