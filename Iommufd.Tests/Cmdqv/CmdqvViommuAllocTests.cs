using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Vmm;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// IOMMU_VIOMMU_ALLOC of type TEGRA241_CMDQV (tegra241-cmdqv.c tegra241_cmdqv_init_vintf_user()) and IOMMU_GET_HW_INFO
/// of type TEGRA241_CMDQV (include/uapi/linux/iommufd.h struct iommu_hw_info_tegra241_cmdqv). The features here:
/// version 1, 4 VINTFs, 16 VCMDQs (4 per VINTF), 4 SID pairs per VINTF.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class CmdqvViommuAllocTests(VcmdqBackend backend)
{
    private static readonly CmdqvFeatures Features = new() { Version = 1, VintfLog2 = 2, VcmdqLog2 = 4, SidPerVintfLog2 = 2 };

    private CmdqvRig _rig = null!;
    private VmmSetup _vmm = null!;

    [SetUp]
    public void SetUp()
    {
        _rig = new CmdqvRig(backend, o => o.Features = Features);
        _vmm = new VmmSetup(_rig.Host, _rig.Device("a"));
    }

    [TearDown]
    public void TearDown()
    {
        _vmm.File.Dispose();
        _rig.Dispose();
    }

    [Test]
    public void Without_driver_data_it_is_EINVAL()
    {
        Assert.That(_vmm.Alloc(default, out _), Is.EqualTo(Errno.EINVAL));
    }

    [TestCase(8)]
    [TestCase(15)]
    [TestCase(24)]
    public void Driver_data_of_another_size_than_the_16_byte_struct_is_EINVAL(int length)
    {
        Assert.That(_vmm.Alloc(new byte[length], out _), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void It_returns_a_64_KiB_window_and_enables_a_guest_owned_VINTF_with_the_parents_VMID()
    {
        var data = new byte[16];

        Assert.That(_vmm.Alloc(data, out _), Is.EqualTo(Errno.Success));

        var output = MemoryMarshal.Read<IommuViommuTegra241Cmdqv>(data);
        int vintf = 1; // VINTF0 is the host's; the first guest gets 1
        uint config = _rig.ReadVintf(vintf, CmdqvRegister.VINTF_CONFIG);
        ushort vmid = _vmm.ParentVmid(_rig);
        Assert.Multiple(() =>
        {
            Assert.That(output.OutVintfMmapLength, Is.EqualTo(0x10000UL));
            Assert.That(output.OutVintfMmapOffset, Is.Not.Zero);
            Assert.That(output.OutVintfMmapOffset % 0x1000, Is.Zero, "an mmap offset is page aligned");
            Assert.That(config & CmdqvRegister.VINTF_CONFIG_EN, Is.EqualTo(CmdqvRegister.VINTF_CONFIG_EN));
            Assert.That(config & CmdqvRegister.VINTF_CONFIG_HYP_OWN, Is.Zero, "guest-owned");
            Assert.That((config >> CmdqvRegister.VINTF_CONFIG_VMID_SHIFT) & 0xFFFF, Is.EqualTo(vmid), "VMID = the S2 parent's");
            Assert.That(vmid, Is.Not.Zero);
            Assert.That(Enumerable.Range(4, 4).Select(q => _rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)q * 4)) & 1), Is.All.Zero, "no LVCMDQ is pre-allocated");
        });
    }

    /// <summary>tegra241-cmdqv.c tegra241_cmdqv_hw_reset(): every CMDQ_ALLOC(q) names VINTF q / n and LVCMDQ q % n,
    /// ALLOCATED clear; VINTF0's queues are then mapped by tegra241_vintf_hw_init() only when the host uses them.</summary>
    [Test]
    public void Reset_preassigns_every_queue_and_maps_only_the_host_VINTF0s()
    {
        int queues = Features.Vintfs * Features.LvcmdqsPerVintf;
        var alloc = Enumerable.Range(0, queues).Select(q => _rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)q * 4))).ToArray();
        var expected = Enumerable.Range(0, queues).Select(q => Preassigned(q / Features.LvcmdqsPerVintf, q % Features.LvcmdqsPerVintf)
            | (backend == VcmdqBackend.Hardware && q < Features.LvcmdqsPerVintf ? CmdqvRegister.CMDQ_ALLOC_ALLOCATED : 0UL)).ToArray();

        Assert.That(alloc, Is.EqualTo(expected));
    }

    [Test]
    public void A_guest_VINTFs_queue_page_reads_zero_and_ignores_writes_until_HW_QUEUE_ALLOC_maps_it()
    {
        using var guest = new CmdqvGuest(_rig, "b", 7, 3);
        int v = guest.VintfIndex;
        int global = (v * Features.LvcmdqsPerVintf) + 1;
        _rig.Cmdqv.WriteRegister(CmdqvRegister.GlobalVcmdqPage1 + ((uint)global * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_BASE, 0x10_0000 | 8, 8);
        _rig.Cmdqv.WriteRegister(CmdqvRegister.GlobalVcmdqPage0 + ((uint)global * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_PROD, 5);

        _rig.Cmdqv.WriteVintfPage0(v, CmdqvRegister.VcmdqStride + CmdqvRegister.VCMDQ_PROD, 9, 4);

        Assert.Multiple(() =>
        {
            Assert.That(_rig.Cmdqv.ReadVintfPage0(v, CmdqvRegister.VcmdqStride + CmdqvRegister.VCMDQ_PROD, 4), Is.Zero, "nothing is behind the slot");
            Assert.That(_rig.Cmdqv.Queues[global].Queue.Prod, Is.EqualTo(5u), "and the slot's write did not reach the global queue");
            Assert.That(_rig.Cmdqv.Queues[global].Owner, Is.Null);
        });
    }

    private static ulong Preassigned(int vintf, int lidx) =>
        ((ulong)vintf << CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT) | ((ulong)lidx << CmdqvRegister.CMDQ_ALLOC_LVCMDQ_SHIFT);

    [Test]
    public void When_every_guest_VINTF_is_taken_it_is_ENOSPC_until_one_is_freed()
    {
        var ids = new List<uint>();
        for (int i = 0; i < Features.Vintfs - 1; i++)
        {
            Assert.That(_vmm.Alloc(new byte[16], out uint id), Is.EqualTo(Errno.Success));
            ids.Add(id);
        }

        var full = _vmm.Alloc(new byte[16], out _);
        Assert.That(_vmm.File.Destroy(ids[1]), Is.EqualTo(Errno.Success));
        var again = _vmm.Alloc(new byte[16], out _);

        Assert.Multiple(() =>
        {
            Assert.That(full, Is.EqualTo(Errno.ENOSPC));
            Assert.That(again, Is.EqualTo(Errno.Success));
            Assert.That(_rig.ReadVintf(2, CmdqvRegister.VINTF_CONFIG) & CmdqvRegister.VINTF_CONFIG_EN, Is.Not.Zero, "the freed VINTF 2 was reused");
        });
    }

    [Test]
    public void Destroying_the_vIOMMU_disables_its_VINTF_and_clears_its_pairs()
    {
        Assert.That(_vmm.Alloc(new byte[16], out uint id), Is.EqualTo(Errno.Success));
        Assert.That(_vmm.File.VdeviceAlloc(id, _vmm.DevId, 9, out uint vdev), Is.EqualTo(Errno.Success));
        Assert.That(_vmm.File.Destroy(id), Is.EqualTo(Errno.EBUSY), "the vDEVICE holds it");
        Assert.That(_vmm.File.Destroy(vdev), Is.EqualTo(Errno.Success));

        Assert.That(_vmm.File.Destroy(id), Is.EqualTo(Errno.Success));

        Assert.Multiple(() =>
        {
            Assert.That(_rig.ReadVintf(1, CmdqvRegister.VINTF_CONFIG), Is.Zero);
            Assert.That(_rig.ReadVintf(1, CmdqvRegister.VINTF_SID_MATCH), Is.Zero);
        });
    }

    [Test]
    public void Closing_the_VMM_file_tears_down_its_queues_pairs_and_VINTF_for_the_next_VM()
    {
        using var rig = new CmdqvRig(backend, o => o.Features = new CmdqvFeatures { VintfLog2 = 1, VcmdqLog2 = 2 }); // one guest VINTF
        var first = new CmdqvGuest(rig, "b", 7, 3);
        first.AllocQueue(0);
        first.AllocQueue(1).Submit(SmmuCommandBuilder.TlbiNhAll(0)); // and leave an error active
        int v = first.VintfIndex;

        first.Dispose();

        var left = (Config: rig.ReadVintf(v, CmdqvRegister.VINTF_CONFIG), Match: rig.ReadVintf(v, CmdqvRegister.VINTF_SID_MATCH),
            Alloc0: rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + 8), Alloc1: rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + 12),
            ErrorMap: rig.ReadVintf(v, CmdqvRegister.VINTF_LVCMDQ_ERR_MAP));
        using var next = new CmdqvGuest(rig, "c", 7, 3);
        var q = next.AllocQueue(0);
        q.Submit(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
        Assert.Multiple(() =>
        {
            Assert.That(left, Is.EqualTo((0u, 0u, Preassigned(v, 0), Preassigned(v, 1), 0u)), "VINTF disabled, pair cleared, LVCMDQs unmapped (pre-assignment kept), error acknowledged");
            Assert.That(next.VintfIndex, Is.EqualTo(v), "the next VM gets the VINTF");
            Assert.That(q.ConsRegister, Is.EqualTo(1u), "and a clean queue");
        });
    }

    [Test]
    public void GET_HW_INFO_with_INPUT_TYPE_and_type_3_reports_version_and_per_VINTF_counts()
    {
        var data = new byte[8];

        var rc = _vmm.File.GetHwInfo(_vmm.DevId, IommuHwInfoFlags.InputType, IommuHwInfoType.Tegra241Cmdqv, data, out var info);

        var hw = MemoryMarshal.Read<IommuHwInfoTegra241Cmdqv>(data);
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(info.Type, Is.EqualTo(IommuHwInfoType.Tegra241Cmdqv));
            Assert.That(info.Length, Is.EqualTo(8));
            Assert.That(hw.Flags, Is.Zero);
            Assert.That(hw.Version, Is.EqualTo(1));
            Assert.That(hw.Log2Vcmdqs, Is.EqualTo(2), "16 VCMDQs over 4 VINTFs: 4 per VINTF");
            Assert.That(hw.Log2Vsids, Is.EqualTo(2));
            Assert.That(hw.Reserved, Is.Zero);
        });
    }

    [TestCase(IommuHwInfoFlags.None, IommuHwInfoType.Tegra241Cmdqv, TestName = "{m}(no INPUT_TYPE flag)")]
    [TestCase(IommuHwInfoFlags.InputType, IommuHwInfoType.Default, TestName = "{m}(INPUT_TYPE with DEFAULT)")]
    [TestCase(IommuHwInfoFlags.InputType, IommuHwInfoType.ArmSmmuV3, TestName = "{m}(INPUT_TYPE with ARM_SMMUV3)")]
    public void GET_HW_INFO_otherwise_reports_the_native_SMMUv3_type(IommuHwInfoFlags flags, IommuHwInfoType type)
    {
        var data = new byte[64];

        var rc = _vmm.File.GetHwInfo(_vmm.DevId, flags, type, data, out var info);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(info.Type, Is.EqualTo(IommuHwInfoType.ArmSmmuV3));
            Assert.That(info.Length, Is.EqualTo(Marshal.SizeOf<IommuHwInfoArmSmmuV3>()));
        });
    }

    /// <summary>A VMM that has bound device a, mapped guest RAM and made a nest parent: ready for VIOMMU_ALLOC.</summary>
    private sealed class VmmSetup
    {
        public VmmSetup(IommufdHost host, Iommufd.Core.Devices.EndpointDevice device)
        {
            var process = host.CreateProcess();
            var ram = new GuestRam(process.Map(1L << 20), CmdqvGuest.RamIpa);
            File = host.Open(process);
            Assert.That(File.BindDevice(device, out DevId), Is.EqualTo(Errno.Success));
            Assert.That(File.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
            ulong iova = CmdqvGuest.RamIpa;
            Assert.That(File.IoasMap(ioas, ram.Region.Address, ram.Region.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable, ref iova), Is.EqualTo(Errno.Success));
            Assert.That(File.HwptAlloc(DevId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out ParentId), Is.EqualTo(Errno.Success));
        }

        public IommufdFile File { get; }

        public uint DevId;

        public uint ParentId;

        public Errno Alloc(Span<byte> data, out uint viommuId) =>
            File.ViommuAlloc(DevId, ParentId, IommuViommuType.Tegra241Cmdqv, data, out viommuId);

        /// <summary>The parent's VMID, as the SMMU sees it once the device is attached to the parent.</summary>
        public ushort ParentVmid(CmdqvRig rig)
        {
            uint pt = ParentId;
            Assert.That(File.AttachDevice(DevId, ref pt), Is.EqualTo(Errno.Success));
            Assert.That(rig.Smmu.Hardware.Translate(CmdqvRig.SidA, CmdqvGuest.RamIpa, write: false, out _), Is.EqualTo(DmaStatus.Ok));
            Assert.That(rig.Hardware.ConfigCache.TryGetSte(CmdqvRig.SidA, out var ste), Is.True);
            return ste.S2Vmid;
        }
    }
}
