using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// A paging domain on an SMMU without stage 2: a stage-1 table (4K granule, 48-bit VA) behind one CD tagged with
/// the domain's own ASID, as arm-smmu-v3.c arm_smmu_domain_alloc_paging_flags() chooses stage 1 when it exists and
/// arm_smmu_make_s1_cd() fills the CD. Unmapping invalidates the range by ASID and the ATCs of attached ATS devices.
/// </summary>
internal sealed class SmmuS1Domain : SmmuPagingDomain
{
    private const int VaBits = 48;

    public SmmuS1Domain(SmmuV3Host host, ushort asid)
        : base(host, VaBits, stage2: false)
    {
        Asid = asid;

        // CD (Arm IHI 0070 §5.4): T0SZ for 48 bits, TG0 4K, IR0/OR0 write-back, SH0 inner shareable, EPD1, V, IPS =
        // the OAS (at most 48 bits, what 4K tables hold), AA64, R (record faults), A (abort faulting transactions).
        CdAddress = Tables.AllocateTable(ContextDescriptor.Size);
        ulong w0 = (ulong)(64 - VaBits) | (1UL << 8) | (1UL << 10) | (3UL << 12) | (1UL << 30) | (1UL << 31)
            | ((ulong)Math.Min(host.Probed.OasEncoding, 5) << 32) | (1UL << 41) | (1UL << 45) | (1UL << 46) | ((ulong)asid << 48);
        Tables.Write(CdAddress + 8, Table.Root);
        Tables.Write(CdAddress, w0); // V last
    }

    public ushort Asid { get; }

    /// <summary>Where the domain's CD is (the STE's S1ContextPtr).</summary>
    public ulong CdAddress { get; }

    public override bool IsNestParent => false;

    /// <summary>Clears the range, then invalidates it (TLBI_NH_VA by ASID) and the ATCs before returning.</summary>
    public override Errno Unmap(ulong iova, ulong length)
    {
        Table.Unmap(iova, length);
        return Host.InvalidateRange(this, vmid: 0, Asid, nestParent: false, iova, length);
    }

    /// <summary>
    /// A stage-1 STE (Config = stage 1 translate, stage 2 bypass) for the domain's CD: one CD (S1CDMax 0), CD
    /// fetches write-back and inner shareable, EATS for an ATS device (arm-smmu-v3.c arm_smmu_make_cdtable_ste()).
    /// </summary>
    public StreamTableEntry MakeSte(bool ats)
    {
        ulong w0 = 1 | (StreamTableEntry.ConfigS1Translate << 1) | CdAddress;
        ulong w1 = (1UL << 2) | (1UL << 4) | (3UL << 6) | (ats ? 1UL << 28 : 0);
        return new StreamTableEntry(w0, w1, 0, 0);
    }

    public override void Free()
    {
        // As SmmuS2Domain.Free: the ASID and the tables are reused only once the SMMU dropped every entry.
        Span<SmmuCommand> inv = [SmmuCommandBuilder.TlbiNhAsid(0, Asid)];
        if (Host.Invalidate(inv, "domain free") != Errno.Success)
        {
            return;
        }

        Tables.Free();
        Host.FreeAsid(Asid);
    }
}
