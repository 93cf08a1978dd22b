using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Vmm;

namespace Iommufd.Tests.DriverContract;

/// <summary>
/// The Arm SMMUv3 plugin for the contract suite. The guest keeps a 4K-granule, 48-bit stage-1 table and one CD
/// (ASID <see cref="Asid"/>) in its RAM; the nested HWPT's data is a vSTE with Config = S1 translate pointing at the
/// CD (arm-smmu-v3-iommufd.c arm_smmu_validate_vste()). An invalidation entry is a raw 16-byte command: TLBI_NH_VA of
/// the slot's page is valid, CFGI_STE is never forwarded, and CFGI_CD names a vSID (arm_vsmmu_convert_user_cmd()) —
/// each refusal is EIO.
/// </summary>
/// <remarks>
/// An invalidation is observed on the SMMU's IOTLB: the slot's page is mapped in the guest table, read once by DMA
/// (so the IOTLB caches it), then unmapped from the table without an invalidation. DMA still works from the stale
/// entry until a TLBI_NH_VA of the page arrives; afterwards the walk finds nothing and the DMA faults.
/// </remarks>
public sealed class SmmuV3Plugin : IDriverContractPlugin
{
    private const ushort Asid = 7;

    /// <summary>Guest VAs of <see cref="MapGuestPage"/>: one page per test page.</summary>
    private const ulong DmaVaBase = 0x5600_0000;

    /// <summary>Guest VAs the invalidation slots observe, with the test pages they map.</summary>
    private const ulong SlotVaBase = 0x1234_0000;
    private const int SlotPageBase = 128;

    private GuestRam? _guest;
    private AArch64PageTable? _stage1;

    public string IommuName => "smmu0";

    public IommuViommuType ViommuType => IommuViommuType.ArmSmmuV3;

    public IommuVeventqType VeventqType => IommuVeventqType.ArmSmmuV3;

    public IommuHwptDataType NestedDataType => IommuHwptDataType.ArmSmmuV3;

    public uint InvalidationDataType => (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3;

    public uint EntryLength => 16;

    /// <summary>An opcode the host does not forward (arm-smmu-v3-iommufd.c arm_vsmmu_convert_user_cmd()).</summary>
    public Errno InvalidEntryErrno => Errno.EIO;

    /// <summary>vSID → pSID fails (arm-smmu-v3-iommufd.c arm_vsmmu_convert_user_cmd()).</summary>
    public Errno UnknownVirtIdErrno => Errno.EIO;

    public void AddIommu(IommufdBuilder builder) => builder.AddArmSmmuV3(IommuName);

    public byte[] CreateNestedHwptData(DriverContractRig rig)
    {
        ArgumentNullException.ThrowIfNull(rig);
        _guest = new GuestRam(rig.GuestRam, DriverContractRig.GuestRamIpa);
        _stage1 = new AArch64PageTable(_guest, TableFormat.ForInputBits(TranslationGranule.Size4K, 48), stage2: false);
        ulong cdIpa = _guest.Allocate(ContextDescriptor.Size, ContextDescriptor.Size);
        var cd = new ContextDescriptor(
            16UL /* T0SZ: 48-bit VA */ | (1UL << 8) | (1UL << 10) | (3UL << 12) /* IR0, OR0 WB; SH0 inner */
            | (1UL << 30) /* EPD1 */ | (1UL << 31) /* V */ | (5UL << 32) /* IPS: 48 bits */ | (1UL << 41) /* AA64 */
            | (1UL << 45) /* R */ | (1UL << 46) /* A */ | ((ulong)Asid << 48),
            _stage1.Root,
            0,
            0);
        cd.Write(_guest.Bytes(cdIpa, ContextDescriptor.Size));
        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = 1 /* V */ | (StreamTableEntry.ConfigS1Translate << 1) | cdIpa;
        return MemoryMarshal.AsBytes(new ReadOnlySpan<IommuHwptArmSmmuV3>(in vste)).ToArray();
    }

    public ulong MapGuestPage(DriverContractRig rig, int page)
    {
        ulong va = DmaVaBase + ((ulong)page * PhysicalMemory.PageSize);
        Stage1.Map(va, DriverContractRig.GuestPageIpa(page), PhysicalMemory.PageSize, IommuProtection.Read | IommuProtection.Write);
        return va;
    }

    /// <summary>TLBI_NH_VA (leaf) of the slot's guest VA under the guest's ASID; the host supplies the VMID.</summary>
    public byte[] ValidEntry(ulong virtId, int slot) =>
        Bytes(SmmuCommandBuilder.TlbiNhVa(vmid: 0, asid: Asid, address: SlotVa(slot), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0));

    /// <summary>CFGI_STE: the VMM handles STE changes itself (a new nested HWPT), so the host never forwards it.</summary>
    public byte[] InvalidEntry(ulong virtId) => Bytes(SmmuCommandBuilder.CfgiSte((uint)virtId, leaf: true));

    /// <summary>CFGI_CD of SSID 0 for a vSID without a vDEVICE.</summary>
    public byte[] EntryForUnknownVirtId(ulong virtId) => Bytes(SmmuCommandBuilder.CfgiCd((uint)virtId, 0, leaf: true));

    public void PrepareObservation(DriverContractRig rig, int slot)
    {
        ArgumentNullException.ThrowIfNull(rig);
        ulong va = SlotVa(slot);
        Stage1.Map(va, DriverContractRig.GuestPageIpa(SlotPageBase + slot), PhysicalMemory.PageSize, IommuProtection.Read | IommuProtection.Write);
        var scratch = new byte[8];
        var first = rig.Device.DmaRead(va, scratch);
        Stage1.Unmap(va, PhysicalMemory.PageSize); // the guest unmaps and has not invalidated yet
        var stale = rig.Device.DmaRead(va, scratch);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(DmaStatus.Ok), $"setup: DMA through the guest mapping of slot {slot}");
            Assert.That(stale, Is.EqualTo(DmaStatus.Ok), $"setup: the IOTLB still holds slot {slot} after the guest unmapped it");
        }
    }

    public bool InvalidationTookEffect(DriverContractRig rig, int slot)
    {
        ArgumentNullException.ThrowIfNull(rig);
        var scratch = new byte[8];
        return rig.Device.DmaRead(SlotVa(slot), scratch) != DmaStatus.Ok;
    }

    private AArch64PageTable Stage1 =>
        _stage1 ?? throw new InvalidOperationException("the guest has no stage-1 table before CreateNestedHwptData");

    private static ulong SlotVa(int slot) => SlotVaBase + ((ulong)slot * PhysicalMemory.PageSize);

    private static byte[] Bytes(SmmuCommand command)
    {
        var bytes = new byte[16];
        command.Write(bytes);
        return bytes;
    }
}
