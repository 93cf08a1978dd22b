using System.Diagnostics.CodeAnalysis;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// SMMUv3 register offsets (spec §6.3), page 0 and page 1 (page 1 starts at 0x10000). Names keep the
/// specification's mnemonics.
/// </summary>
[SuppressMessage("Naming", "CA1707", Justification = "Register names are the specification's mnemonics.")]
public enum SmmuRegister : uint
{
    /// <summary>SMMU_IDR0 (§6.3; arm-smmu-v3.h ARM_SMMU_IDR0): stages, ATS, PRI, MSI, ASID/VMID sizes, table levels, stall model.</summary>
    IDR0 = 0x00,
    /// <summary>SMMU_IDR1 (§6.3; ARM_SMMU_IDR1): queue sizes (CMDQS, EVENTQS, PRIQS) and StreamID / SubstreamID widths.</summary>
    IDR1 = 0x04,
    /// <summary>SMMU_IDR2 (§6.3): the base of the VATOS page (BA_VATOS); reads as zero here, with no VATOS interface.</summary>
    IDR2 = 0x08,
    /// <summary>SMMU_IDR3 (§6.3; ARM_SMMU_IDR3): optional features of SMMUv3.1 and later, such as RIL (range invalidation) and MPAM.</summary>
    IDR3 = 0x0C,
    /// <summary>SMMU_IDR4 (§6.3): an IMPLEMENTATION DEFINED identification register.</summary>
    IDR4 = 0x10,
    /// <summary>SMMU_IDR5 (§6.3; ARM_SMMU_IDR5): the output address size (OAS), the translation granules and the largest stall count.</summary>
    IDR5 = 0x14,
    /// <summary>SMMU_IIDR (§6.3; ARM_SMMU_IIDR): implementer, product, variant and revision of the implementation.</summary>
    IIDR = 0x18,
    /// <summary>SMMU_AIDR (§6.3): the architecture revision, ArchMajorRev and ArchMinorRev (1 = SMMUv3.1).</summary>
    AIDR = 0x1C,
    /// <summary>SMMU_CR0 (§6.3.9; ARM_SMMU_CR0): enables the SMMU (SMMUEN) and its queues (CMDQEN, EVENTQEN, PRIQEN).</summary>
    CR0 = 0x20,
    /// <summary>SMMU_CR0ACK (§6.3.10; ARM_SMMU_CR0ACK): the CR0 enables as the SMMU has taken them up.</summary>
    CR0ACK = 0x24,
    /// <summary>SMMU_CR1 (§6.3; ARM_SMMU_CR1): cacheability and shareability of table and queue accesses.</summary>
    CR1 = 0x28,
    /// <summary>SMMU_CR2 (§6.3.12; ARM_SMMU_CR2): E2H, RECINVSID (record C_BAD_STREAMID) and PTM (private TLB maintenance).</summary>
    CR2 = 0x2C,
    /// <summary>SMMU_STATUSR (§6.3): status of the SMMU, such as DORMANT.</summary>
    STATUSR = 0x40,
    /// <summary>SMMU_GBPA (§6.3.14; ARM_SMMU_GBPA): what transactions do while SMMUEN = 0 (ABORT, or bypass with the given attributes), updated through UPDATE.</summary>
    GBPA = 0x44,
    /// <summary>SMMU_AGBPA (§6.3): IMPLEMENTATION DEFINED attributes of global bypass.</summary>
    AGBPA = 0x48,
    /// <summary>SMMU_IRQ_CTRL (§6.3; ARM_SMMU_IRQ_CTRL): enables the global error, PRI queue and event queue interrupts.</summary>
    IRQ_CTRL = 0x50,
    /// <summary>SMMU_IRQ_CTRLACK (§6.3; ARM_SMMU_IRQ_CTRLACK): the IRQ_CTRL enables as the SMMU has taken them up.</summary>
    IRQ_CTRLACK = 0x54,
    /// <summary>SMMU_GERROR (§6.3.19; ARM_SMMU_GERROR): the SMMU toggles a bit to report a global error (<see cref="GlobalError"/>).</summary>
    GERROR = 0x60,
    /// <summary>SMMU_GERRORN (§6.3.20; ARM_SMMU_GERRORN): software toggles a bit to acknowledge the global error of the same bit in GERROR.</summary>
    GERRORN = 0x64,
    /// <summary>SMMU_GERROR_IRQ_CFG0 (§6.3; ARM_SMMU_GERROR_IRQ_CFG0): the address the global error MSI is written to.</summary>
    GERROR_IRQ_CFG0 = 0x68,
    /// <summary>SMMU_GERROR_IRQ_CFG1 (§6.3; ARM_SMMU_GERROR_IRQ_CFG1): the data of the global error MSI.</summary>
    GERROR_IRQ_CFG1 = 0x70,
    /// <summary>SMMU_GERROR_IRQ_CFG2 (§6.3; ARM_SMMU_GERROR_IRQ_CFG2): shareability and memory attributes of the global error MSI.</summary>
    GERROR_IRQ_CFG2 = 0x74,
    /// <summary>SMMU_STRTAB_BASE (§6.3; ARM_SMMU_STRTAB_BASE): the address of the stream table and its read-allocate hint (RA).</summary>
    STRTAB_BASE = 0x80,
    /// <summary>SMMU_STRTAB_BASE_CFG (§6.3; ARM_SMMU_STRTAB_BASE_CFG): stream table format (linear or two-level), SPLIT and LOG2SIZE.</summary>
    STRTAB_BASE_CFG = 0x88,
    /// <summary>SMMU_CMDQ_BASE (§6.3; ARM_SMMU_CMDQ_BASE): the address of the command queue and its LOG2SIZE.</summary>
    CMDQ_BASE = 0x90,
    /// <summary>SMMU_CMDQ_PROD (§6.3; ARM_SMMU_CMDQ_PROD): the producer index with its wrap bit, written by software after it adds commands.</summary>
    CMDQ_PROD = 0x98,
    /// <summary>SMMU_CMDQ_CONS (§6.3; ARM_SMMU_CMDQ_CONS): the consumer index with its wrap bit, and the ERR field of a command error.</summary>
    CMDQ_CONS = 0x9C,
    /// <summary>SMMU_EVENTQ_BASE (§6.3; ARM_SMMU_EVTQ_BASE): the address of the event queue and its LOG2SIZE.</summary>
    EVENTQ_BASE = 0xA0,
    /// <summary>SMMU_EVENTQ_IRQ_CFG0 (§6.3; ARM_SMMU_EVTQ_IRQ_CFG0): the address the event queue MSI is written to.</summary>
    EVENTQ_IRQ_CFG0 = 0xB0,
    /// <summary>SMMU_EVENTQ_IRQ_CFG1 (§6.3; ARM_SMMU_EVTQ_IRQ_CFG1): the data of the event queue MSI.</summary>
    EVENTQ_IRQ_CFG1 = 0xB8,
    /// <summary>SMMU_EVENTQ_IRQ_CFG2 (§6.3; ARM_SMMU_EVTQ_IRQ_CFG2): shareability and memory attributes of the event queue MSI.</summary>
    EVENTQ_IRQ_CFG2 = 0xBC,
    /// <summary>SMMU_EVENTQ_PROD in page 1 (§6.3; ARM_SMMU_EVTQ_PROD at 0xa8 of the second 64KB page): the index the SMMU writes the next event at, with its wrap and overflow bits.</summary>
    EVENTQ_PROD = 0x100A8,
    /// <summary>SMMU_EVENTQ_CONS in page 1 (§6.3; ARM_SMMU_EVTQ_CONS at 0xac of the second 64KB page): the index software reads the next event from, with its wrap bit and the overflow acknowledgement.</summary>
    EVENTQ_CONS = 0x100AC,
}
