using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// IOMMU_HW_QUEUE_ALLOC of type TEGRA241_CMDQV: the core's checks (drivers/iommu/iommufd/viommu.c
/// iommufd_hw_queue_alloc_ioctl()) and the driver's, in order (tegra241-cmdqv.c tegra241_vintf_alloc_lvcmdq_user()),
/// and what a queue looks like once allocated. The SMMU has IDR1.CMDQS = 7, so the largest queue is 2^7 × 16 = 2048
/// bytes.
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class HwQueueAllocRuleTests(VcmdqBackend backend)
{
    private const IommuHwQueueType Tegra = IommuHwQueueType.Tegra241Cmdqv;
    private const ulong MaxLength = 2048;

    private CmdqvRig _rig = null!;
    private CmdqvGuest _vm = null!;

    [SetUp]
    public void SetUp()
    {
        _rig = new CmdqvRig(backend, smmu: o =>
        {
            o.Features = o.Features with { CmdqLog2Size = 7 };
            o.HostQueueLog2Size = 7;
        });
        _vm = new CmdqvGuest(_rig, "a", 1, 3);
    }

    [TearDown]
    public void TearDown()
    {
        _vm.Dispose();
        _rig.Dispose();
    }

    [Test]
    public void The_DEFAULT_type_is_EOPNOTSUPP()
    {
        Assert.That(Alloc(0, Buffer(256), 256, IommuHwQueueType.Default), Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void An_index_at_or_above_the_LVCMDQs_per_VINTF_is_EINVAL_before_the_order_check()
    {
        uint lvcmdqs = (uint)_rig.Cmdqv.Features.LvcmdqsPerVintf;

        Assert.Multiple(() =>
        {
            Assert.That(Alloc(lvcmdqs, Buffer(256), 256), Is.EqualTo(Errno.EINVAL));
            Assert.That(Alloc(uint.MaxValue, Buffer(256), 256), Is.EqualTo(Errno.EINVAL));
            Assert.That(Alloc(lvcmdqs - 1, Buffer(256), 256), Is.EqualTo(Errno.EIO), "the last index itself is valid; it is only out of order");
        });
    }

    [Test]
    public void A_second_queue_at_the_same_index_is_EEXIST()
    {
        Assert.That(Alloc(0, Buffer(256), 256), Is.EqualTo(Errno.Success));

        Assert.That(Alloc(0, Buffer(256), 256), Is.EqualTo(Errno.EEXIST));
    }

    [Test]
    public void An_index_before_its_predecessor_is_EIO()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Alloc(1, Buffer(256), 256), Is.EqualTo(Errno.EIO));
            Assert.That(Alloc(0, Buffer(256), 256), Is.EqualTo(Errno.Success));
            Assert.That(Alloc(2, Buffer(256), 256), Is.EqualTo(Errno.EIO), "2 needs 1");
            Assert.That(Alloc(1, Buffer(256), 256), Is.EqualTo(Errno.Success));
            Assert.That(Alloc(2, Buffer(256), 256), Is.EqualTo(Errno.Success));
        });
    }

    [TestCase(48UL, TestName = "{m}(48, not a power of two)")]
    [TestCase(1000UL, TestName = "{m}(1000, not a power of two)")]
    [TestCase(16UL, TestName = "{m}(16, below 32)")]
    [TestCase(MaxLength * 2, TestName = "{m}(4096, above 2^CMDQS x 16)")]
    public void A_length_outside_the_rules_is_EINVAL(ulong length)
    {
        Assert.That(Alloc(0, Buffer(4096), length), Is.EqualTo(Errno.EINVAL));
    }

    [TestCase(32UL)]
    [TestCase(MaxLength)]
    public void The_smallest_and_the_largest_length_are_accepted(ulong length)
    {
        Assert.That(Alloc(0, Buffer(length), length), Is.EqualTo(Errno.Success));
    }

    [TestCase(512UL, 1024UL)]
    [TestCase(32UL, 64UL)]
    public void A_base_not_aligned_to_the_length_is_EINVAL(ulong misalignment, ulong length)
    {
        ulong ipa = Buffer(2 * length) + misalignment;

        Assert.That(Alloc(0, ipa, length), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void An_IOVA_that_is_not_mapped_in_the_parent_IOAS_is_ENOENT()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Alloc(0, 0x1000_0000, 256), Is.EqualTo(Errno.ENOENT));
            Assert.That(Alloc(0, CmdqvGuest.RamIpa + (ulong)CmdqvGuest.RamSize - 128, 256), Is.EqualTo(Errno.ENOENT), "running past the end of the mapping");
        });
    }

    [Test]
    public void Physically_non_contiguous_memory_is_EFAULT()
    {
        // An SMMU with the largest CMDQS, so that only contiguity is wrong with an 8 KiB queue over two lone pages.
        using var rig = new CmdqvRig(backend);
        using var vm = new CmdqvGuest(rig, "a", 1, 3);
        var scattered = vm.File.Memory.Map(8192, contiguous: false);
        ulong iova = 0x8000_0000;
        Assert.That(vm.File.IoasMap(vm.IoasId, scattered.Address, 8192, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
        var contiguous = vm.Ram.Allocate(8192, 8192);

        Assert.Multiple(() =>
        {
            Assert.That(vm.File.HwQueueAlloc(vm.ViommuId, Tegra, 0, iova, 8192, out _), Is.EqualTo(Errno.EFAULT));
            Assert.That(vm.File.HwQueueAlloc(vm.ViommuId, Tegra, 0, contiguous, 8192, out _), Is.EqualTo(Errno.Success), "the same length in contiguous RAM is fine");
        });
    }

    [Test]
    public void Unmapping_the_queue_memory_is_EBUSY_while_the_queue_exists()
    {
        Assert.That(Alloc(0, Buffer(256), 256, out uint id), Is.EqualTo(Errno.Success));
        ulong length = (ulong)CmdqvGuest.RamSize;

        var whileQueued = _vm.File.IoasUnmap(_vm.IoasId, CmdqvGuest.RamIpa, ref length);
        Assert.That(_vm.File.Destroy(id), Is.EqualTo(Errno.Success));
        length = (ulong)CmdqvGuest.RamSize;
        var afterDestroy = _vm.File.IoasUnmap(_vm.IoasId, CmdqvGuest.RamIpa, ref length);

        Assert.Multiple(() =>
        {
            Assert.That(whileQueued, Is.EqualTo(Errno.EBUSY));
            Assert.That(afterDestroy, Is.EqualTo(Errno.Success));
        });
    }

    [Test]
    public void Queues_are_destroyed_in_descending_index_order_else_EBUSY()
    {
        Assert.That(Alloc(0, Buffer(256), 256, out uint q0), Is.EqualTo(Errno.Success));
        Assert.That(Alloc(1, Buffer(256), 256, out uint q1), Is.EqualTo(Errno.Success));
        Assert.That(Alloc(2, Buffer(256), 256, out uint q2), Is.EqualTo(Errno.Success));

        Assert.Multiple(() =>
        {
            Assert.That(_vm.File.Destroy(q0), Is.EqualTo(Errno.EBUSY));
            Assert.That(_vm.File.Destroy(q1), Is.EqualTo(Errno.EBUSY));
            Assert.That(_vm.File.Destroy(q2), Is.EqualTo(Errno.Success));
            Assert.That(_vm.File.Destroy(q1), Is.EqualTo(Errno.Success));
            Assert.That(_vm.File.Destroy(q0), Is.EqualTo(Errno.Success));
            Assert.That(Alloc(0, Buffer(256), 256), Is.EqualTo(Errno.Success), "index 0 is free again");
        });
    }

    [Test]
    public void An_allocated_queue_is_mapped_into_the_VINTF_with_BASE_programmed_and_left_for_the_guest_to_enable()
    {
        ulong ipa = Buffer(1024);
        Assert.That(Alloc(0, Buffer(256), 256), Is.EqualTo(Errno.Success));
        Assert.That(Alloc(1, ipa, 1024), Is.EqualTo(Errno.Success));
        int v = _vm.VintfIndex;
        int global = (v * _rig.Cmdqv.Features.LvcmdqsPerVintf) + 1;
        ulong pa = _vm.Ram.Region.PhysicalAddressAt(ipa - CmdqvGuest.RamIpa);

        Assert.Multiple(() =>
        {
            Assert.That(_rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)global * 4)),
                Is.EqualTo(CmdqvRegister.CMDQ_ALLOC_ALLOCATED | (1u << CmdqvRegister.CMDQ_ALLOC_LVCMDQ_SHIFT) | ((uint)v << CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT)));
            Assert.That(_rig.Cmdqv.ReadRegister(CmdqvRegister.GlobalVcmdqPage1 + ((uint)global * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_BASE, 8),
                Is.EqualTo(pa | 6), "BASE = the queue's PA | LOG2SIZE (1024 / 16 = 2^6)");
            Assert.That(_vm.Window.Read32(CmdqvRegister.VcmdqStride + CmdqvRegister.VCMDQ_CONFIG), Is.Zero, "the guest enables it");
            Assert.That(_vm.Window.Read32(CmdqvRegister.VcmdqStride + CmdqvRegister.VCMDQ_CONS), Is.Zero);
            Assert.That(_rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)(global + 1) * 4)) & CmdqvRegister.CMDQ_ALLOC_ALLOCATED, Is.Zero, "no other queue is pre-allocated");
        });
    }

    [Test]
    public void A_destroyed_queue_is_unmapped_from_the_VINTF_and_its_registers_zeroed()
    {
        Assert.That(Alloc(0, Buffer(256), 256, out uint id), Is.EqualTo(Errno.Success));
        int global = _vm.VintfIndex * _rig.Cmdqv.Features.LvcmdqsPerVintf;

        Assert.That(_vm.File.Destroy(id), Is.EqualTo(Errno.Success));

        Assert.Multiple(() =>
        {
            Assert.That(_rig.Cmdqv.ReadRegister(CmdqvRegister.CMDQ_ALLOC + ((uint)global * 4)),
                Is.EqualTo((ulong)_vm.VintfIndex << CmdqvRegister.CMDQ_ALLOC_VINTF_SHIFT), "unmapped, the reset's pre-assignment kept (tegra241_vcmdq_unmap_lvcmdq())");
            Assert.That(_rig.Cmdqv.ReadRegister(CmdqvRegister.GlobalVcmdqPage1 + ((uint)global * CmdqvRegister.VcmdqStride) + CmdqvRegister.VCMDQ_BASE, 8), Is.Zero);
        });
    }

    /// <summary>Guest RAM for a queue of <paramref name="length"/> bytes, aligned to it.</summary>
    /// <summary>tegra241-cmdqv.c tegra241_vcmdq_hw_init_user() resets the queue first with tegra241_vcmdq_hw_deinit(),
    /// whose tegra241_vcmdq_hw_flush_timeout() issues a CMD_SYNC on the main queue: a timed-out ATC invalidation left
    /// by whoever had the VCMDQ before cannot show in the new owner's first CMD_SYNC.</summary>
    [Test]
    public void Allocation_flushes_the_main_queue_with_a_CMD_SYNC_and_clears_a_left_ATC_timeout()
    {
        var main = _rig.Smmu.MainQueue.Queue;
        int global = _vm.VintfIndex * _rig.Cmdqv.Features.LvcmdqsPerVintf;
        _rig.Cmdqv.Queues[global].Queue.AtcInvalidationTimedOut = true; // as a previous owner's unsynced ATC_INV left it
        uint before = main.Prod;

        Assert.That(Alloc(0, Buffer(256), 256), Is.EqualTo(Errno.Success));

        uint wrapMask = (2u << main.Log2Size) - 1;
        var issued = new List<SmmuOpcode>();
        for (uint p = before; p != main.Prod && issued.Count <= 64; p = (p + 1) & wrapMask)
        {
            Assert.That(main.TryReadEntry(p, out var command), Is.True);
            issued.Add(command.Opcode);
        }

        Assert.Multiple(() =>
        {
            Assert.That(issued, Is.EqualTo(new[] { SmmuOpcode.CMD_SYNC }), "one CMD_SYNC on the main queue");
            Assert.That(main.Cons, Is.EqualTo(main.Prod), "and the driver waited for it");
            Assert.That(_rig.Cmdqv.Queues[global].Queue.AtcInvalidationTimedOut, Is.False);
        });
    }

    private ulong Buffer(ulong length) => _vm.Ram.Allocate(length, Math.Max(length, 32));

    private Errno Alloc(uint index, ulong ipa, ulong length, IommuHwQueueType type = Tegra) => Alloc(index, ipa, length, out _, type);

    private Errno Alloc(uint index, ulong ipa, ulong length, out uint id, IommuHwQueueType type = Tegra) =>
        _vm.File.HwQueueAlloc(_vm.ViommuId, type, index, ipa, length, out id);
}
