using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Driver;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// A paging domain: a stage-2 table (4K granule, an IPA as wide as the OAS up to 48 bits, as arm-smmu-v3.c
/// arm_smmu_domain_finalise() sizes it) tagged with its own VMID. Unmapping invalidates the
/// SMMU's cached translations (and the ATCs of attached ATS devices) before it returns.
/// </summary>
internal sealed class SmmuS2Domain : SmmuPagingDomain
{
    public SmmuS2Domain(SmmuV3Host host, ushort vmid, bool nestParent)
        : base(host, Math.Min(48, host.Probed.OutputAddressBits), stage2: true)
    {
        Vmid = vmid;
        IsNestParent = nestParent;
    }

    public ushort Vmid { get; }

    public override bool IsNestParent { get; }

    /// <summary>The IPA size the table translates.</summary>
    public int IpaBits => InputBits;

    /// <summary>
    /// Clears the range from the table, then invalidates; returns once the SMMU dropped every cached translation
    /// and no DMA that translated through one can still land (the CMD_SYNC's completion). ETIMEDOUT when the SMMU
    /// did not complete it after every attempt: the caller must not reuse the memory.
    /// </summary>
    public override Errno Unmap(ulong iova, ulong length)
    {
        Table.Unmap(iova, length);
        return Host.InvalidateRange(this, Vmid, asid: -1, IsNestParent, iova, length);
    }

    /// <summary>The stage-2 words of an STE for this domain (words 2 and 3).</summary>
    public (ulong Word2, ulong Word3) Stage2Words()
    {
        ulong w2 = Vmid
            | ((ulong)(64 - IpaBits) << 32) // S2T0SZ
            | ((ulong)(2 - Table.Format.StartLevel) << 38) // S2SL0 (4K granule: 0 = level 2, 1 = level 1, 2 = level 0)
            | (1UL << 40) | (1UL << 42) | (3UL << 44) // S2IR0/S2OR0 write-back, S2SH0 inner shareable
            | ((ulong)Math.Min(Host.Probed.OasEncoding, 5) << 48) // S2PS
            | (1UL << 51) // S2AA64
            | (1UL << 58); // S2R: record stage-2 faults
        return (w2, Table.Root);
    }

    /// <summary>An S2-only STE (Config = stage 1 bypass, stage 2 translate).</summary>
    public StreamTableEntry MakeSte(bool ats)
    {
        var (w2, w3) = Stage2Words();
        ulong w1 = (ats ? 1UL << 28 : 0) | (1UL << 44); // EATS, SHCFG = incoming
        return new StreamTableEntry(1 | (StreamTableEntry.ConfigS2Translate << 1), w1, w2, w3);
    }

    public override void Free()
    {
        // Nothing may still use the VMID's entries once the domain is gone. If the SMMU never completed the
        // invalidation (logged and counted by Invalidate), the VMID and the tables stay allocated: a stale entry
        // can then only point at tables nobody reuses, and no new domain gets the VMID.
        Span<SmmuCommand> inv = [SmmuCommandBuilder.TlbiS12Vmall(Vmid)];
        if (Host.Invalidate(inv, "domain free") != Errno.Success)
        {
            return;
        }

        Tables.Free();
        Host.FreeVmid(Vmid);
    }
}
