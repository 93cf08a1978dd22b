using System.Runtime.CompilerServices;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// PASID attach, replace and detach through IOMMU_TEST_CMD's PASID ops, raw ioctls only, as
/// tools/testing/selftests/iommu/iommufd.c FIXTURE(iommufd_device_pasid) drives them on a MOCK_FLAGS_DEVICE_PASID
/// device: device.c iommufd_device_attach() / iommufd_device_replace() / iommufd_device_detach() with a pasid,
/// iommufd_hwpt_pasid_compat() and the IOMMU_HWPT_ALLOC_PASID rule, selftest.c iommufd_test_pasid_*().
/// </summary>
public class PasidTests
{
    private const uint Pasid = 100;

    [Test]
    public void A_pasid_takes_only_pasid_compatible_hwpts_and_then_the_rid_must_stay_pasid_compatible()
    {
        // selftest iommufd_device_pasid.pasid_attach, first half; device.c iommufd_hwpt_pasid_compat(),
        // iommufd_hw_pagetable_attach() (EBUSY for a PASID attached already), iommufd_device_auto_get_domain().
        using var fx = new MockFixture();
        var dev = new PasidDevice(fx);
        Assert.That(dev.Detach(Pasid), Is.EqualTo(Errno.Success), "detaching a PASID never attached is no failure");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(dev.ReplaceRid(dev.Parent), Is.EqualTo(Errno.Success));
            Assert.That(dev.Attach(Pasid, dev.S2), Is.EqualTo(Errno.EINVAL), "the RID's domain is not PASID-compatible");
            Assert.That(dev.ReplaceRid(dev.S2), Is.EqualTo(Errno.Success));
            Assert.That(dev.Attach(Pasid, dev.Nested0, out uint attached), Is.EqualTo(Errno.Success));
            Assert.That(attached, Is.EqualTo(dev.Nested0), "pt_id comes back as the HWPT attached");
            Assert.That(dev.Check(Pasid, dev.Nested0), Is.EqualTo(Errno.Success));
            Assert.That(dev.ReplaceRid(dev.Parent), Is.EqualTo(Errno.EINVAL), "a PASID is attached: the RID must stay PASID-compatible");
            Assert.That(dev.Detach(Pasid), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(Pasid, 0), Is.EqualTo(Errno.Success), "detached");

            Assert.That(dev.Attach(Pasid, fx.IoasId), Is.EqualTo(Errno.EINVAL), "an IOAS's automatic domains are not PASID-compatible");
            Assert.That(dev.Check(Pasid, 0), Is.EqualTo(Errno.Success), "and nothing is attached");
            Assert.That(dev.Attach(Pasid, dev.Plain), Is.EqualTo(Errno.EINVAL), "a HWPT allocated without ALLOC_PASID");

            Assert.That(dev.Attach(Pasid, dev.S2), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(Pasid, dev.S2), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(Pasid, dev.Nested0), Is.EqualTo(Errno.EINVAL), "another HWPT is not the one attached");
            Assert.That(dev.Attach(Pasid, dev.Nested0), Is.EqualTo(Errno.EBUSY), "attach does not overwrite: replace");
            Assert.That(dev.Attach(Pasid, dev.S2), Is.EqualTo(Errno.EBUSY), "nor attach again");
            Assert.That(fx.Destroy(dev.S2), Is.EqualTo(Errno.EBUSY), "the PASID holds its HWPT");
            Assert.That(dev.Detach(Pasid), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(Pasid, 0), Is.EqualTo(Errno.Success));

            Assert.That(dev.Attach(Pasid, dev.ViommuNested), Is.EqualTo(Errno.Success), "a vIOMMU's nested HWPT with ALLOC_PASID");
            Assert.That(dev.Check(Pasid, dev.ViommuNested), Is.EqualTo(Errno.Success));
            Assert.That(dev.Detach(Pasid), Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void Replace_needs_an_attached_pasid_and_a_failed_replace_keeps_the_old_hwpt()
    {
        // selftest iommufd_device_pasid.pasid_attach, replace half; device.c iommufd_device_do_replace(),
        // iommufd_hwpt_replace_device(); selftest.c mock_domain_set_dev_pasid_nop() for IOMMU_TEST_PASID_RESERVED.
        using var fx = new MockFixture();
        var dev = new PasidDevice(fx);
        MockFixture.Expect(dev.ReplaceRid(dev.S2), "RID on the PASID-compatible HWPT");
        const uint pasid = 200;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(dev.Replace(pasid, dev.S2), Is.EqualTo(Errno.EINVAL), "nothing to replace");
            Assert.That(dev.Attach(pasid, dev.S2), Is.EqualTo(Errno.Success));
            Assert.That(dev.Replace(pasid, fx.IoasId), Is.EqualTo(Errno.EINVAL));
            Assert.That(dev.Check(pasid, dev.S2), Is.EqualTo(Errno.Success), "a refused replace changes nothing");
            Assert.That(dev.Replace(pasid, dev.Nested0), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(pasid, dev.Nested0), Is.EqualTo(Errno.Success));
            Assert.That(dev.Replace(pasid, dev.Nested1), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(pasid, dev.Nested1), Is.EqualTo(Errno.Success));
            Assert.That(dev.Replace(pasid, dev.Nested1), Is.EqualTo(Errno.Success), "the same HWPT: nothing to do");
            Assert.That(fx.Destroy(dev.Nested0), Is.EqualTo(Errno.Success), "the replaced HWPT is free again");
            Assert.That(dev.Detach(pasid), Is.EqualTo(Errno.Success));

            Assert.That(dev.Attach(SelftestConstants.PasidReserved, dev.S2), Is.EqualTo(Errno.Success));
            Assert.That(dev.Replace(SelftestConstants.PasidReserved, dev.Nested1), Is.EqualTo(Errno.ENOMEM), "the mock fails this replace");
            Assert.That(dev.Check(SelftestConstants.PasidReserved, dev.S2), Is.EqualTo(Errno.Success), "and the old HWPT stays");
            Assert.That(dev.Detach(SelftestConstants.PasidReserved), Is.EqualTo(Errno.Success));
            Assert.That(dev.Check(SelftestConstants.PasidReserved, 0), Is.EqualTo(Errno.Success));

            MockFixture.Expect(dev.ReplaceRid(fx.IoasId), "RID back on the IOAS");
        }
    }

    [Test]
    public void The_pasid_must_be_below_max_pasids_and_the_ops_look_up_the_selftest_object_and_the_hwpt()
    {
        // iommu.c iommu_attach_device_pasid() (a PASID at or above a non-zero max_pasids; a device with none, as
        // without MOCK_FLAGS_DEVICE_PASID, is skipped there and by __iommu_set_group_pasid(), so its attach is only
        // the core's handle), selftest.c iommufd_test_get_selftest_obj(), iommufd_get_hwpt(),
        // iommufd_test_pasid_check_hwpt() (reads iommu_attach_handle_get()).
        using var fx = new MockFixture();
        var dev = new PasidDevice(fx);
        var plain = DirtyTrackingTests.MockDomainFlags(fx, dev.S2, 0);
        var other = new PasidDevice(fx, plain.StdevId);
        uint max = 1u << (int)SelftestConstants.MockPasidWidth;
        MockFixture.Expect(dev.ReplaceRid(dev.S2), "RID on the PASID-compatible HWPT");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(other.Attach(Pasid, dev.S2), Is.EqualTo(Errno.Success), "a device without PASIDs is not validated");
            Assert.That(other.Check(Pasid, dev.S2), Is.EqualTo(Errno.Success), "the core holds the attach handle");
            Assert.That(fx.Mock.GetPasidDomain(PasidDevice.Bound(fx, plain.IdevId), Pasid), Is.Null, "but the driver was never asked");
            Assert.That(other.Detach(Pasid), Is.EqualTo(Errno.Success));
            Assert.That(other.Check(Pasid, 0), Is.EqualTo(Errno.Success));
            Assert.That(dev.Attach(max, dev.S2), Is.EqualTo(Errno.EINVAL), "the PASID must be below max_pasids");
            Assert.That(dev.Attach(max - 1, dev.S2), Is.EqualTo(Errno.Success));
            Assert.That(dev.Attach(Pasid, 999), Is.EqualTo(Errno.ENOENT), "no such page table");
            Assert.That(dev.Attach(Pasid, plain.IdevId), Is.EqualTo(Errno.EINVAL), "a device is no page table");
            Assert.That(new PasidDevice(fx, plain.IdevId).Attach(Pasid, dev.S2), Is.EqualTo(Errno.ENOENT), "a device ID is no selftest object");
            Assert.That(new PasidDevice(fx, 999).Detach(Pasid), Is.EqualTo(Errno.ENOENT));
            Assert.That(dev.Check(max - 1, 999), Is.EqualTo(Errno.ENOENT), "CHECK_HWPT of no object");
            Assert.That(dev.Check(max - 1, fx.IoasId), Is.EqualTo(Errno.EINVAL), "CHECK_HWPT of an IOAS");
            Assert.That(dev.Check(max - 1, dev.S2), Is.EqualTo(Errno.Success));
        }

        int objects = fx.File.ObjectCount;
        Assert.That(fx.Destroy(dev.StdevId), Is.EqualTo(Errno.Success), "destroying the device lets its PASIDs go");
        Assert.That(fx.Destroy(dev.S2), Is.EqualTo(Errno.EBUSY), "the other device's RID still holds it");
        Assert.That(fx.File.ObjectCount, Is.EqualTo(objects - 2), "the selftest object and the device are gone");
    }

    [Test]
    public void A_fault_with_a_pasid_goes_to_that_pasids_hwpt_else_to_a_nested_rid_else_nowhere()
    {
        // io-pgfault.c find_fault_handler() with selftest.c mock_ops.user_pasid_table; selftest
        // iommufd_device_pasid.pasid_attach (test_cmd_trigger_iopf_pasid on an iopf HWPT attached to PASID 2048).
        using var fx = new MockFixture();
        var dev = new PasidDevice(fx);
        var alloc = FaultQueue(fx);
        MockFixture.Expect(fx.AllocHwpt(dev.IdevId, fx.IoasId, IommuHwptAllocFlags.FaultIdValid | IommuHwptAllocFlags.AllocPasid, out uint iopf, faultId: alloc.OutFaultId), "iopf HWPT");
        MockFixture.Expect(dev.ReplaceRid(dev.S2), "RID on a PASID-compatible HWPT without a fault queue");
        MockFixture.Expect(dev.Attach(2048, iopf), "PASID 2048 on the iopf HWPT");
        var record = new byte[2 * System.Runtime.InteropServices.Marshal.SizeOf<IommuHwptPgfault>()]; // room for two

        var toPasid = TestCmdTests.TriggerIopf(fx, dev.IdevId, 0x5000, pasid: 2048);
        MockFixture.Expect(fx.File.Read((int)alloc.OutFaultFd, record, out int readPasid), "read");
        var fault = System.Runtime.InteropServices.MemoryMarshal.Read<IommuHwptPgfault>(record);
        var otherPasid = TestCmdTests.TriggerIopf(fx, dev.IdevId, 0x6000, pasid: 7);
        var noPasid = TestCmdTests.TriggerIopf(fx, dev.IdevId, 0x7000, pasid: 0);
        MockFixture.Expect(fx.File.Read((int)alloc.OutFaultFd, record, out int readOthers), "read");

        using (Assert.EnterMultipleScope())
        {
            Assert.That((toPasid, readPasid), Is.EqualTo((Errno.Success, record.Length / 2)), "PASID 2048's fault reaches its HWPT's queue");
            Assert.That((fault.Addr, fault.Pasid, fault.Flags), Is.EqualTo((0x5000ul, 2048u, (uint)(IommuHwptPgfaultFlags.LastPage | IommuHwptPgfaultFlags.PasidValid))));
            Assert.That((otherPasid, noPasid, readOthers), Is.EqualTo((Errno.Success, Errno.Success, 0)), "PASID 7 has no HWPT and the RID's is paging, and the RID's has no queue: both dropped");
        }
    }

    [Test]
    public void A_fault_with_an_unattached_pasid_goes_to_a_nested_rid_under_the_mocks_user_pasid_table()
    {
        // io-pgfault.c find_fault_handler(): no attachment for the PASID and ops->user_pasid_table (selftest.c
        // mock_ops) — the RID's IOMMU_DOMAIN_NESTED handle takes it; iommufd_utils.h test_cmd_trigger_iopf (PASID 1
        // on a nested iopf HWPT).
        using var fx = new MockFixture();
        var dev = new PasidDevice(fx);
        var alloc = FaultQueue(fx);
        ulong data = fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });
        MockFixture.Expect(fx.AllocHwpt(dev.IdevId, dev.Parent, IommuHwptAllocFlags.FaultIdValid, out uint iopf, IommuHwptDataType.Selftest, data, (uint)Unsafe.SizeOf<IommuHwptSelftest>(), alloc.OutFaultId), "nested iopf HWPT");
        MockFixture.Expect(dev.ReplaceRid(iopf), "RID on the nested iopf HWPT");
        var record = new byte[2 * System.Runtime.InteropServices.Marshal.SizeOf<IommuHwptPgfault>()]; // room for two

        var rc = TestCmdTests.TriggerIopf(fx, dev.IdevId, 0x5000, pasid: 1);
        MockFixture.Expect(fx.File.Read((int)alloc.OutFaultFd, record, out int read), "read");
        var fault = System.Runtime.InteropServices.MemoryMarshal.Read<IommuHwptPgfault>(record);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rc, read), Is.EqualTo((Errno.Success, record.Length / 2)));
            Assert.That((fault.Addr, fault.Pasid), Is.EqualTo((0x5000ul, 1u)));
        }
    }

    [Test]
    public void A_dma_with_a_pasid_translates_through_that_pasids_hwpt_and_is_blocked_once_detached()
    {
        // selftest.c mock_dev_create() gives a MOCK_FLAGS_DEVICE_PASID device "pasid-num-bits" MOCK_PASID_WIDTH;
        // iommu.c iommu_attach_device_pasid() / iommu_replace_device_pasid() reach the mock's set_dev_pasid, and
        // device.c iommufd_device_detach() with a pasid puts the PASID on the blocked domain.
        using var fx = new MockFixture();
        var dev = new PasidDevice(fx);
        MockFixture.Expect(dev.ReplaceRid(dev.S2), "RID on the PASID-compatible HWPT");
        MockFixture.Expect(fx.MapGuestRam(0, MockFixture.PageSize, out ulong iova), "map a page");
        byte[] pattern = [1, 2, 3, 4, 5, 6, 7, 8];
        pattern.CopyTo(fx.GuestRam.Span);
        var device = dev.Device;
        var seen = new byte[8];
        var seenNested = new byte[8];

        var before = device.DmaRead(Pasid, iova, new byte[8]);
        MockFixture.Expect(dev.Attach(Pasid, dev.S2), "PASID on the paging HWPT");
        var read = device.DmaRead(Pasid, iova, seen);
        var otherPasid = device.DmaRead(Pasid + 1, iova, new byte[8]);
        var write = device.DmaWrite(Pasid, iova + 8, pattern);
        MockFixture.Expect(dev.Replace(Pasid, dev.Nested0), "PASID on a nested HWPT of the parent");
        var nested = device.DmaRead(Pasid, iova + 8, seenNested);
        MockFixture.Expect(dev.Detach(Pasid), "detach the PASID");
        var after = device.DmaRead(Pasid, iova, new byte[8]);
        var rid = device.DmaRead(iova, new byte[8]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(device.PasidBits, Is.EqualTo((int)SelftestConstants.MockPasidWidth));
            Assert.That(before, Is.EqualTo(DmaStatus.Blocked), "a PASID nothing is attached to");
            Assert.That((read, seen), Is.EqualTo((DmaStatus.Ok, pattern)), "translated through the PASID's HWPT");
            Assert.That(otherPasid, Is.EqualTo(DmaStatus.Blocked), "another PASID has no translation");
            Assert.That(write, Is.EqualTo(DmaStatus.Ok));
            Assert.That(fx.GuestRam.Span.Slice(8, 8).ToArray(), Is.EqualTo(pattern), "the PASID's write landed in the IOAS's page");
            Assert.That((nested, seenNested), Is.EqualTo((DmaStatus.Ok, pattern)), "after a replace, through the nested HWPT's parent");
            Assert.That(after, Is.EqualTo(DmaStatus.Blocked), "detached: blocked");
            Assert.That(rid, Is.EqualTo(DmaStatus.Ok), "the RID keeps its own translation");
        }
    }

    [Test]
    public void Pasid_replace_writes_the_command_back_as_the_attach_does_and_detach_does_not()
    {
        // selftest.c iommufd_test_pasid_attach() and iommufd_test_pasid_replace() end in iommufd_ucmd_respond() (the
        // HWPT attached in pt_id); iommufd_test_pasid_detach() returns 0 without it. In-process memory is written in
        // place, so the respond flag is what a native caller sees: the op is run on the mock's handler directly.
        var context = new Moq.Mock<ISelftestContext>();
        uint ptId = 7;
        context.Setup(c => c.AttachPasid(1, Pasid, ref Moq.It.Ref<uint>.IsAny)).Returns(Errno.Success);
        context.Setup(c => c.ReplacePasid(1, Pasid, ref Moq.It.Ref<uint>.IsAny)).Returns(Errno.Success);
        context.Setup(c => c.DetachPasid(1, Pasid)).Returns(Errno.Success);
        using var fx = new MockFixture();
        var selftest = new MockSelftest(fx.Host.Platform);

        bool Responds(IommuTestOp op)
        {
            var cmd = new IommuTestCmd { Op = (uint)op, Id = 1, PasidAttachPasid = Pasid, PasidAttachPtId = ptId };
            bool respond = false;
            MockFixture.Expect(selftest.Execute(context.Object, ref cmd, ref respond), op.ToString());
            return respond;
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Responds(IommuTestOp.PasidAttach), Is.True);
            Assert.That(Responds(IommuTestOp.PasidReplace), Is.True);
            Assert.That(Responds(IommuTestOp.PasidDetach), Is.False);
        }
    }

    /// <summary>IOMMU_FAULT_QUEUE_ALLOC: the queue's ID and fd.</summary>
    private static IommuFaultAlloc FaultQueue(MockFixture fx)
    {
        var alloc = new IommuFaultAlloc();
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, ref alloc), "FAULT_QUEUE_ALLOC");
        return alloc;
    }

    /// <summary>
    /// FIXTURE_SETUP(iommufd_device_pasid): a MOCK_FLAGS_DEVICE_PASID device on the fixture's IOAS, and the HWPTs the
    /// pasid_attach test allocates: a nest parent, two nested HWPTs on it and one on a vIOMMU, all with ALLOC_PASID,
    /// a paging HWPT with ALLOC_PASID (<see cref="S2"/>) and one without (<see cref="Plain"/>).
    /// </summary>
    private sealed class PasidDevice
    {
        private readonly MockFixture _fx;

        public PasidDevice(MockFixture fx)
        {
            _fx = fx;
            var md = DirtyTrackingTests.MockDomainFlags(fx, fx.IoasId, MockDevice.Pasid);
            StdevId = md.StdevId;
            IdevId = md.IdevId;
            uint dev = md.IdevId;
            MockFixture.Expect(fx.AllocHwpt(dev, fx.IoasId, IommuHwptAllocFlags.NestParent, out uint parent), "nest parent");
            Parent = parent;
            Nested0 = Nested(dev, parent);
            Nested1 = Nested(dev, parent);
            MockFixture.Expect(fx.AllocViommu(dev, parent, (uint)IommuViommuType.Selftest, out uint viommu), "vIOMMU");
            ViommuNested = Nested(dev, viommu);
            MockFixture.Expect(fx.AllocHwpt(dev, fx.IoasId, IommuHwptAllocFlags.AllocPasid, out uint s2), "paging HWPT with ALLOC_PASID");
            S2 = s2;
            MockFixture.Expect(fx.AllocHwpt(dev, fx.IoasId, 0, out uint plain), "paging HWPT");
            Plain = plain;
            Device = Bound(fx, dev);
        }

        /// <summary>Another selftest object ID, with no HWPTs of its own.</summary>
        public PasidDevice(MockFixture fx, uint stdevId)
        {
            _fx = fx;
            StdevId = stdevId;
        }

        public uint StdevId { get; }

        /// <summary>The mock device behind the selftest object.</summary>
        public EndpointDevice Device { get; } = null!;

        /// <summary>The bound device's ID.</summary>
        public uint IdevId { get; }

        public uint Parent { get; }

        public uint Nested0 { get; }

        public uint Nested1 { get; }

        public uint ViommuNested { get; }

        public uint S2 { get; }

        public uint Plain { get; }

        public Errno Attach(uint pasid, uint ptId) => Attach(pasid, ptId, out _);

        public Errno Attach(uint pasid, uint ptId, out uint attached)
        {
            var cmd = new IommuTestCmd { Op = (uint)IommuTestOp.PasidAttach, Id = StdevId, PasidAttachPasid = pasid, PasidAttachPtId = ptId };
            var rc = _fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);
            attached = cmd.PasidAttachPtId;
            return rc;
        }

        public Errno Replace(uint pasid, uint ptId) =>
            Test(new IommuTestCmd { Op = (uint)IommuTestOp.PasidReplace, Id = StdevId, PasidAttachPasid = pasid, PasidAttachPtId = ptId });

        public Errno Detach(uint pasid) =>
            Test(new IommuTestCmd { Op = (uint)IommuTestOp.PasidDetach, Id = StdevId, PasidAttachPasid = pasid });

        /// <summary>IOMMU_TEST_OP_PASID_CHECK_HWPT: hwpt_id 0 checks the PASID is detached.</summary>
        public Errno Check(uint pasid, uint hwptId) =>
            Test(new IommuTestCmd { Op = (uint)IommuTestOp.PasidCheckHwpt, Id = StdevId, PasidAttachPasid = pasid, PasidAttachPtId = hwptId });

        /// <summary>IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE of the device's RID.</summary>
        public Errno ReplaceRid(uint ptId) =>
            Test(new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainReplace, Id = StdevId, MockDomainReplacePtId = ptId });

        /// <summary>The platform device bound as <paramref name="idevId"/>.</summary>
        public static EndpointDevice Bound(MockFixture fx, uint idevId)
        {
            MockFixture.Expect(fx.File.Objects.Get<DeviceObject>(idevId, out var idev), "bound device");
            using (idev)
            {
                return idev.Object.Device;
            }
        }

        private Errno Test(IommuTestCmd cmd) => _fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);

        private uint Nested(uint dev, uint ptId)
        {
            ulong data = _fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });
            MockFixture.Expect(_fx.AllocHwpt(dev, ptId, IommuHwptAllocFlags.AllocPasid, out uint id, IommuHwptDataType.Selftest, data, (uint)Unsafe.SizeOf<IommuHwptSelftest>()), "nested HWPT with ALLOC_PASID");
            return id;
        }
    }
}
