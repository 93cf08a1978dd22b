using System.Diagnostics.CodeAnalysis;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// SMMUv3 register offsets (spec §6.3), page 0 and page 1 (page 1 starts at 0x10000). Names keep the
/// specification's mnemonics.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Register names are the specification's mnemonics.")]
public enum SmmuRegister : uint
{
    IDR0 = 0x00,
    IDR1 = 0x04,
    IDR2 = 0x08,
    IDR3 = 0x0C,
    IDR4 = 0x10,
    IDR5 = 0x14,
    IIDR = 0x18,
    AIDR = 0x1C,
    CR0 = 0x20,
    CR0ACK = 0x24,
    CR1 = 0x28,
    CR2 = 0x2C,
    STATUSR = 0x40,
    GBPA = 0x44,
    AGBPA = 0x48,
    IRQ_CTRL = 0x50,
    IRQ_CTRLACK = 0x54,
    GERROR = 0x60,
    GERRORN = 0x64,
    GERROR_IRQ_CFG0 = 0x68,
    GERROR_IRQ_CFG1 = 0x70,
    GERROR_IRQ_CFG2 = 0x74,
    STRTAB_BASE = 0x80,
    STRTAB_BASE_CFG = 0x88,
    CMDQ_BASE = 0x90,
    CMDQ_PROD = 0x98,
    CMDQ_CONS = 0x9C,
    EVENTQ_BASE = 0xA0,
    EVENTQ_IRQ_CFG0 = 0xB0,
    EVENTQ_IRQ_CFG1 = 0xB8,
    EVENTQ_IRQ_CFG2 = 0xBC,
    EVENTQ_PROD = 0x100A8,
    EVENTQ_CONS = 0x100AC,
}
