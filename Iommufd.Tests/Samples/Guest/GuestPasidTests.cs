using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// The guest driver's PASIDs: a linear CD table with S1DSS = 0b10 (arm-smmu-v3.c arm_smmu_make_cdtable_ste), a CD
/// per PASID installed with CFGI_CD (IHI 0070 §4.3.3), and a detach that sends CFGI_CD, TLBI_NH_ASID for the
/// PASID's ASID and ATC_INV with SSV = 1 (§4.5.1).
/// </summary>
public class GuestPasidTests
{
    private const uint Sid = 3;
    private const ulong Va = 0x20_0000;

    [Test]
    public void Each_PASID_translates_through_its_own_table_and_traffic_without_one_through_CD_0()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid, ats: true);
        Assert.That(rig.Driver.AttachDevice(Sid, asid: 1, ats: true, substreamBits: 4), Is.True);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x10), 4096, IommuProtection.Read);
        var pasid5 = rig.Driver.AttachPasid(Sid, 5, asid: 5)!;
        pasid5.Map(Va, rig.DataPages(0x15), 4096, IommuProtection.Read);
        var data = new byte[1];

        var ste = StreamTableEntry.Read(rig.Ram.Bytes(rig.Driver.StreamTableIpa + (Sid * 64), 32));
        var noPasid = rig.Smmu.Dma(Sid, Va, data, DmaDirection.Read);
        byte viaCd0 = data[0];
        var withPasid = rig.Smmu.Dma(Sid, 5, Va, data, DmaDirection.Read);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((ste.S1CdMax, ste.S1Dss, ste.S1Fmt), Is.EqualTo((4, 2UL, 0UL)), "linear, S1DSS 0b10");
            Assert.That((noPasid, viaCd0), Is.EqualTo((DmaStatus.Ok, (byte)0x10)));
            Assert.That((withPasid, data[0]), Is.EqualTo((DmaStatus.Ok, (byte)0x15)));
            Assert.That(() => rig.Driver.AttachPasid(Sid, 0, 9), Throws.InstanceOf<ArgumentOutOfRangeException>(), "substream 0 is CD 0's");
            Assert.That(() => rig.Driver.AttachPasid(Sid, 16, 9), Throws.InstanceOf<ArgumentOutOfRangeException>(), "beyond 2^S1CDMax");
        }
    }

    [Test]
    public void Detaching_a_PASID_removes_its_CD_its_TLB_entries_and_its_ATC_entries_only()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid, ats: true);
        rig.Driver.AttachDevice(Sid, asid: 1, ats: true, substreamBits: 2);
        var two = rig.Driver.AttachPasid(Sid, 2, asid: 2)!;
        var three = rig.Driver.AttachPasid(Sid, 3, asid: 3)!;
        two.Map(Va, rig.DataPages(2), 4096, IommuProtection.Read);
        three.Map(Va, rig.DataPages(3), 4096, IommuProtection.Read);
        var data = new byte[1];
        rig.Smmu.Dma(Sid, 2, Va, data, DmaDirection.Read);
        rig.Smmu.Dma(Sid, 3, Va, data, DmaDirection.Read);
        var atc = rig.Smmu.GetAtc(Sid)!;

        bool ok = rig.Driver.DetachPasid(Sid, 2);
        var after2 = rig.Smmu.Dma(Sid, 2, Va, data, DmaDirection.Read);
        var after3 = rig.Smmu.Dma(Sid, 3, Va, data, DmaDirection.Read);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ok, Is.True);
            Assert.That(after2, Is.EqualTo(DmaStatus.Blocked), "CD 2 invalid: C_BAD_CD");
            Assert.That((after3, data[0]), Is.EqualTo((DmaStatus.Ok, (byte)3)));
            Assert.That(rig.Smmu.Iotlb.Snapshot().Select(e => e.Asid), Is.EqualTo(new[] { 3 }), "TLBI_NH_ASID 2 left ASID 3");
            Assert.That(atc.Snapshot().Count, Is.EqualTo(1), "ATC_INV SSV = 1 for PASID 2 left PASID 3's entry");
            Assert.That(rig.Driver.DetachPasid(Sid, 2), Is.False, "already detached");
        }
    }

    [Test]
    public void The_guest_driver_builds_linear_CD_tables_of_at_most_1024_CDs()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => rig.Driver.AttachDevice(Sid, 1, substreamBits: 11), Throws.InstanceOf<ArgumentOutOfRangeException>(), "README: no two-level CD tables");
            Assert.That(rig.Driver.AttachDevice(Sid, 1, substreamBits: 10), Is.True);
        }
    }
}
