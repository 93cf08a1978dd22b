using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

// PASIDs: a CD per substream in the linear CD table of a device attached with substreams (Arm IHI 0070 §5.2
// S1CDMax), each CD with its own ASID and stage-1 table, as arm-smmu-v3.c arm_smmu_set_pasid() installs one.
public sealed partial class GuestSmmuDriver
{
    /// <summary>The largest linear CD table this driver builds: 1024 CDs, 64 KiB.</summary>
    private const int MaxLinearCdTableBits = 10;

    /// <summary>
    /// Gives <paramref name="pasid"/> of <paramref name="sid"/> a new, empty stage-1 table tagged with
    /// <paramref name="asid"/>: its CD, then CFGI_CD with the SubstreamID and CMD_SYNC (the SMMU may have cached the
    /// invalid CD, spec §4.3.3). Map into the returned table directly: invalid entries are never cached.
    /// </summary>
    /// <returns>The PASID's stage-1 table; null when the CMD_SYNC did not complete.</returns>
    public AArch64PageTable? AttachPasid(uint sid, uint pasid, ushort asid)
    {
        var domain = Domain(sid);
        if (pasid == 0 || pasid >> domain.SubstreamBits != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pasid), pasid, $"PASIDs 1..{(1u << domain.SubstreamBits) - 1} (substream 0 serves traffic without a PASID)");
        }

        var table = new AArch64PageTable(_memory, Stage1Format, stage2: false);
        lock (domain.PageTableLock)
        {
            if (!domain.Pasids.TryAdd(pasid, (asid, table)))
            {
                throw new InvalidOperationException($"PASID {pasid} of StreamID {sid} is already attached");
            }
        }

        WriteCd(CdIpa(domain, pasid), asid, table);
        return CommandPath.Submit([SmmuCommandBuilder.CfgiCd(sid, pasid, leaf: true)]) ? table : null;
    }

    /// <summary>
    /// Detaches <paramref name="pasid"/>: its CD becomes invalid (CFGI_CD with the SubstreamID), then its ASID's TLB
    /// entries go (TLBI_NH_ASID) and, for an ATS device, its ATC entries (ATC_INV with SSV = 1), each synced.
    /// </summary>
    /// <returns>True when every CMD_SYNC completed; false when the PASID was not attached.</returns>
    public bool DetachPasid(uint sid, uint pasid)
    {
        var domain = Domain(sid);
        (ushort Asid, AArch64PageTable Table) entry;
        lock (domain.PageTableLock)
        {
            if (!domain.Pasids.Remove(pasid, out entry))
            {
                return false;
            }
        }

        _memory.Write(CdIpa(domain, pasid), 0); // word 0 holds V
        bool ok = CommandPath.Submit([SmmuCommandBuilder.CfgiCd(sid, pasid, leaf: true)]);
        ok &= CommandPath.Submit([SmmuCommandBuilder.TlbiNhAsid(0, entry.Asid)]);
        if (domain.Ats)
        {
            ok &= CommandPath.Submit([SmmuCommandBuilder.AtcInv(sid, pasid, ssv: true, global: false, address: 0, size: 52)]);
        }

        return ok;
    }

    private static ulong CdIpa(GuestDomain domain, uint pasid) => domain.CdIpa + ((ulong)pasid * ContextDescriptor.Size);
}
