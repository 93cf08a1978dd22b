using Iommufd.Core;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.DriverContract;

/// <summary>
/// The contract every driver plugin must keep with the iommufd core, through the iommufd API (mostly raw ioctls):
/// paging HWPTs and DMA, vIOMMU/vDEVICE/vEVENTQ allocation rules, stage-1 nested attach, HWPT_INVALIDATE on the
/// vIOMMU and teardown on close (drivers/iommu/iommufd/hw_pagetable.c, viommu.c). Instantiated once per plugin; what
/// differs between plugins comes from <typeparamref name="TPlugin"/>.
/// </summary>
/// <remarks>
/// Deliberately not covered: HW queues (SMMUv3 has none; the mock's are in Contract/HwQueueContractTests). This
/// project answers <c>entry_num = 0</c> with success for every driver (arm-smmu-v3-iommufd.c
/// arm_vsmmu_cache_invalidate() answers EINVAL: not kept).
/// </remarks>
/// <typeparam name="TPlugin">The adapter of the plugin under test.</typeparam>
public abstract class DriverContractTests<TPlugin>
    where TPlugin : IDriverContractPlugin, new()
{
    /// <summary>The guest's ID for dev0 (its vSID on SMMUv3).</summary>
    private const ulong VirtId = 0x21;

    /// <summary>An ID no vDEVICE has.</summary>
    private const ulong UnknownVirtId = 0x77;

    private TPlugin _plugin = default!;
    private DriverContractRig _rig = null!;

    private TPlugin Plugin => _plugin;

    private DriverContractRig Rig => _rig;

    [SetUp]
    public void CreateMachine()
    {
        _plugin = new TPlugin();
        _rig = new DriverContractRig(_plugin);
    }

    [TearDown]
    public void DisposeMachine() => _rig?.Dispose();

    // ---- Paging HWPT and DMA ------------------------------------------------------------------------------------

    [Test]
    public void Dma_through_an_attached_paging_HWPT_lands_in_user_memory()
    {
        uint hwpt = AllocPaging(0);
        DriverContractRig.Expect(Rig.Attach(Rig.DevId, hwpt), "attach to the paging HWPT");
        byte[] data = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];

        var status = Rig.Device.DmaWrite(DriverContractRig.GuestPageIpa(3) + 0x40, data);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(status, Is.EqualTo(DmaStatus.Ok));
            Assert.That(Rig.GuestPage(3).Slice(0x40, data.Length).ToArray(), Is.EqualTo(data));
        }
    }

    [Test]
    public void Dma_to_an_IOVA_fails_after_IOAS_UNMAP_of_it()
    {
        uint hwpt = AllocPaging(0);
        DriverContractRig.Expect(Rig.Attach(Rig.DevId, hwpt), "attach to the paging HWPT");
        ulong iova = DriverContractRig.GuestPageIpa(3);
        Assert.That(Rig.Device.DmaWrite(iova, [1, 1, 1, 1]), Is.EqualTo(DmaStatus.Ok), "setup: DMA before the unmap");

        var unmap = Rig.Unmap(DriverContractRig.GuestRamIpa, (ulong)DriverContractRig.GuestRamSize);
        var status = Rig.Device.DmaWrite(iova, [2, 2, 2, 2]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unmap, Is.EqualTo(Errno.Success));
            Assert.That(status, Is.Not.EqualTo(DmaStatus.Ok));
            Assert.That(Rig.GuestPage(3)[..4].ToArray(), Is.EqualTo(new byte[] { 1, 1, 1, 1 }), "user memory untouched by the refused DMA");
        }
    }

    [Test]
    public void Destroying_an_attached_paging_HWPT_is_EBUSY()
    {
        uint hwpt = AllocPaging(0);
        DriverContractRig.Expect(Rig.Attach(Rig.DevId, hwpt), "attach to the paging HWPT");

        var attached = Rig.Destroy(hwpt);
        DriverContractRig.Expect(Rig.File.DetachDevice(Rig.DevId), "detach");
        var detached = Rig.Destroy(hwpt);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(attached, Is.EqualTo(Errno.EBUSY));
            Assert.That(detached, Is.EqualTo(Errno.Success), "free once detached");
        }
    }

    // ---- vIOMMU ------------------------------------------------------------------------------------------------

    [Test]
    public void VIOMMU_ALLOC_on_a_paging_HWPT_that_is_not_a_nest_parent_is_EINVAL()
    {
        uint hwpt = AllocPaging(0);

        var rc = Rig.AllocViommu(Rig.DevId, hwpt, (uint)Plugin.ViommuType, out uint viommu);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(viommu, Is.Zero, "no ID handed out");
        }
    }

    [Test]
    public void VIOMMU_ALLOC_on_a_nest_parent_succeeds_and_makes_the_parent_EBUSY_to_destroy()
    {
        uint parent = AllocPaging(IommuHwptAllocFlags.NestParent);

        var alloc = Rig.AllocViommu(Rig.DevId, parent, (uint)Plugin.ViommuType, out uint viommu);
        var busy = Rig.Destroy(parent);
        var destroyViommu = Rig.Destroy(viommu);
        var free = Rig.Destroy(parent);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(alloc, Is.EqualTo(Errno.Success));
            Assert.That(busy, Is.EqualTo(Errno.EBUSY));
            Assert.That(destroyViommu, Is.EqualTo(Errno.Success));
            Assert.That(free, Is.EqualTo(Errno.Success), "the parent is free once the vIOMMU is gone");
        }
    }

    [Test]
    public void VIOMMU_ALLOC_of_type_DEFAULT_is_EOPNOTSUPP()
    {
        uint parent = AllocPaging(IommuHwptAllocFlags.NestParent);

        var rc = Rig.AllocViommu(Rig.DevId, parent, (uint)IommuViommuType.Default, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void VIOMMU_ALLOC_of_a_type_the_driver_does_not_know_is_EOPNOTSUPP()
    {
        uint parent = AllocPaging(IommuHwptAllocFlags.NestParent);

        var rc = Rig.AllocViommu(Rig.DevId, parent, 0xdead, out _);

        Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void Destroying_a_vIOMMU_that_a_vDEVICE_or_nested_HWPT_uses_is_EBUSY()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out uint vdev), "VDEVICE_ALLOC");
        uint nested = AllocNested(viommu);

        var withBoth = Rig.Destroy(viommu);
        DriverContractRig.Expect(Rig.Destroy(vdev), "destroy the vDEVICE");
        var withNested = Rig.Destroy(viommu);
        DriverContractRig.Expect(Rig.Destroy(nested), "destroy the nested HWPT");
        var alone = Rig.Destroy(viommu);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(withBoth, Is.EqualTo(Errno.EBUSY));
            Assert.That(withNested, Is.EqualTo(Errno.EBUSY));
            Assert.That(alone, Is.EqualTo(Errno.Success));
        }
    }

    // ---- vDEVICE -----------------------------------------------------------------------------------------------

    [Test]
    public void VDEVICE_ALLOC_of_a_virt_id_another_device_has_on_the_vIOMMU_is_EEXIST()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out _), "VDEVICE_ALLOC for dev0");

        var rc = Rig.AllocVdevice(viommu, Rig.OtherDevId, VirtId, out uint vdev);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EEXIST));
            Assert.That(vdev, Is.Zero, "no ID handed out");
        }
    }

    [Test]
    public void A_second_vDEVICE_for_the_same_device_is_EEXIST()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out _), "VDEVICE_ALLOC");

        var rc = Rig.AllocVdevice(viommu, Rig.DevId, VirtId + 1, out _);

        Assert.That(rc, Is.EqualTo(Errno.EEXIST));
    }

    [Test]
    public void VDEVICE_ALLOC_on_a_destroyed_vIOMMU_is_ENOENT()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.Destroy(viommu), "destroy the vIOMMU");

        var rc = Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out _);

        Assert.That(rc, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public void Once_the_device_is_unbound_its_vDEVICE_ID_is_a_tombstone_IOMMU_DESTROY_answers_ENOENT()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out uint vdev), "VDEVICE_ALLOC");
        DriverContractRig.Expect(Rig.File.UnbindDevice(Rig.DevId), "unbind dev0");

        var destroy = Rig.Destroy(vdev);
        var next = new IommuIoasAlloc();
        DriverContractRig.Expect(Rig.Raw(IommufdIoctl.IOMMU_IOAS_ALLOC, ref next), "IOAS_ALLOC after the unbind");
        var viommuFree = Rig.Destroy(viommu);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(destroy, Is.EqualTo(Errno.ENOENT));
            Assert.That(next.OutIoasId, Is.Not.EqualTo(vdev), "the tombstoned ID is not reused before close");
            Assert.That(viommuFree, Is.EqualTo(Errno.Success), "the force-destroyed vDEVICE no longer holds the vIOMMU");
        }

        Rig.CloseFileAndUnmapProcess();
        Assert.That(Rig.File.ObjectCount, Is.Zero, "closing the file releases the tombstone");
    }

    [Test]
    public void Once_the_device_is_unbound_its_virt_id_is_free_for_another_device()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out _), "VDEVICE_ALLOC for dev0");
        DriverContractRig.Expect(Rig.File.UnbindDevice(Rig.DevId), "unbind dev0");

        var rc = Rig.AllocVdevice(viommu, Rig.OtherDevId, VirtId, out uint vdev);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(vdev, Is.Not.Zero);
        }
    }

    // ---- Stage-1 nested HWPT and attach ------------------------------------------------------------------------

    [Test]
    public void Attaching_a_stage_1_nested_HWPT_without_a_vDEVICE_is_ENOENT()
    {
        uint viommu = AllocViommu();
        uint nested = AllocNested(viommu);

        var rc = Rig.Attach(Rig.DevId, nested);
        var destroy = Rig.Destroy(nested);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.ENOENT));
            Assert.That(destroy, Is.EqualTo(Errno.Success), "the failed attach left no user on the HWPT");
        }
    }

    [Test]
    public void Attaching_a_stage_1_nested_HWPT_with_a_vDEVICE_succeeds_and_DMA_goes_through_the_guest_tables()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out _), "VDEVICE_ALLOC");
        uint nested = AllocNested(viommu);

        var rc = Rig.Attach(Rig.DevId, nested);
        ulong address = Plugin.MapGuestPage(Rig, 5);
        byte[] data = [9, 8, 7, 6, 5, 4, 3, 2];
        var status = Rig.Device.DmaWrite(address + 0x80, data);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(status, Is.EqualTo(DmaStatus.Ok));
            Assert.That(Rig.GuestPage(5).Slice(0x80, data.Length).ToArray(), Is.EqualTo(data), "landed in guest RAM page 5");
        }
    }

    [Test]
    public void Destroying_an_attached_nested_HWPT_is_EBUSY()
    {
        var (_, nested) = AttachNested();

        var rc = Rig.Destroy(nested);

        Assert.That(rc, Is.EqualTo(Errno.EBUSY));
    }

    // ---- HWPT_INVALIDATE on the vIOMMU -------------------------------------------------------------------------

    [Test]
    public void A_valid_entry_succeeds_with_entry_num_1_and_takes_effect()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        Plugin.PrepareObservation(Rig, 1);
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(entryNum, Is.EqualTo(1u));
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.True, "slot 0 invalidated");
            Assert.That(Plugin.InvalidationTookEffect(Rig, 1), Is.False, "slot 1 untouched");
        }
    }

    [Test]
    public void Entry_num_0_succeeds_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        uint entryNum = 0;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, 0, ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success), "entry_num 0 probes the data type (not upstream SMMUv3's EINVAL)");
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void Entry_num_0_with_a_data_type_the_driver_does_not_take_is_EINVAL()
    {
        var (viommu, _) = AttachNested();
        uint entryNum = 0;

        var rc = Rig.Invalidate(viommu, WrongDataType(), Plugin.EntryLength, 0, ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void A_wrong_data_type_is_EINVAL_with_entry_num_0_and_nothing_invalidated()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, WrongDataType(), Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(entryNum, Is.Zero);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.False);
        }
    }

    [Test]
    public void A_non_zero_reserved_field_is_EOPNOTSUPP_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum, reserved: 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(entryNum, Is.Zero);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.False);
        }
    }

    [Test]
    public void A_NULL_data_uptr_with_entry_num_1_is_EINVAL_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, 0, ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void An_entry_len_of_0_is_EINVAL_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, 0, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(entryNum, Is.Zero);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.False);
        }
    }

    [Test]
    public void Invalidating_a_paging_HWPT_is_EINVAL_with_entry_num_0()
    {
        uint parent = AllocPaging(IommuHwptAllocFlags.NestParent);
        uint entryNum = 1;

        var rc = Rig.Invalidate(parent, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void Invalidating_an_unknown_ID_is_ENOENT_with_entry_num_0()
    {
        AttachNested();
        uint entryNum = 1;

        var rc = Rig.Invalidate(9999, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.ENOENT));
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void A_valid_then_an_invalid_entry_fail_with_the_driver_errno_and_entry_num_1_after_the_first_took_effect()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        Plugin.PrepareObservation(Rig, 1);
        uint entryNum = 2;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0), Plugin.InvalidEntry(VirtId)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Plugin.InvalidEntryErrno));
            Assert.That(entryNum, Is.EqualTo(1u), "the index of the refused entry");
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.True, "the entry before it took effect");
            Assert.That(Plugin.InvalidationTookEffect(Rig, 1), Is.False, "slot 1 untouched");
        }
    }

    [Test]
    public void Entries_after_a_refused_one_are_not_processed()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        Plugin.PrepareObservation(Rig, 1);
        uint entryNum = 3;

        var rc = Rig.Invalidate(
            viommu,
            Plugin.InvalidationDataType,
            Plugin.EntryLength,
            Entries(Plugin.ValidEntry(VirtId, 0), Plugin.InvalidEntry(VirtId), Plugin.ValidEntry(VirtId, 1)),
            ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Plugin.InvalidEntryErrno));
            Assert.That(entryNum, Is.EqualTo(1u));
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.True);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 1), Is.False, "the entry after the refused one never ran");
        }
    }

    [Test]
    public void Two_valid_entries_succeed_with_entry_num_2_and_both_take_effect()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        Plugin.PrepareObservation(Rig, 1);
        Plugin.PrepareObservation(Rig, 2);
        uint entryNum = 2;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0), Plugin.ValidEntry(VirtId, 1)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(entryNum, Is.EqualTo(2u));
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.True);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 1), Is.True);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 2), Is.False, "slot 2 untouched");
        }
    }

    [Test]
    public void An_entry_for_a_virt_id_without_a_vDEVICE_is_refused_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.EntryForUnknownVirtId(UnknownVirtId)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Plugin.UnknownVirtIdErrno));
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void A_data_uptr_outside_user_memory_is_EFAULT_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        uint entryNum = 1;

        // The first page of the address space is never mapped (as on Linux, where mmap_min_addr keeps it free).
        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, 0x1000, ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EFAULT));
            Assert.That(entryNum, Is.Zero);
        }
    }

    [Test]
    public void An_array_that_runs_out_of_user_memory_is_EFAULT_and_not_even_its_first_entry_takes_effect()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        var page = Rig.Process.Map(4096);
        byte[] first = Plugin.ValidEntry(VirtId, 0);
        first.CopyTo(page.Span[^first.Length..]); // the second entry would lie in the guard gap after the region
        uint entryNum = 2;

        // vIOMMU drivers copy the whole array before looking at any entry (include/linux/iommu.h
        // iommu_copy_struct_from_full_user_array()).
        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, page.Address + page.Length - (ulong)first.Length, ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EFAULT));
            Assert.That(entryNum, Is.Zero);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.False);
        }
    }

    [Test]
    public void Entries_longer_than_the_driver_struct_with_a_zero_tail_are_accepted()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        Plugin.PrepareObservation(Rig, 1);
        uint entryNum = 2;

        // A newer VMM may pass a longer struct; the full-array copy takes it when the unknown tail is zero.
        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength + 8, Entries(8, 0, Plugin.ValidEntry(VirtId, 0), Plugin.ValidEntry(VirtId, 1)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(entryNum, Is.EqualTo(2u));
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.True);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 1), Is.True, "the second entry was read at offset entry_len");
        }
    }

    [Test]
    public void Entries_longer_than_the_driver_struct_with_a_non_zero_tail_are_E2BIG_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength + 8, Entries(8, 0xff, Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.E2BIG));
            Assert.That(entryNum, Is.Zero);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.False);
        }
    }

    [Test]
    public void An_entry_num_too_large_for_one_allocation_is_ENOMEM_with_entry_num_0()
    {
        var (viommu, _) = AttachNested();
        Plugin.PrepareObservation(Rig, 0);
        uint entryNum = uint.MaxValue;

        // vIOMMU drivers allocate the whole array at once (kcalloc): entry_num × entry_len far beyond
        // KMALLOC_MAX_SIZE fails there, before any user memory is read (arm-smmu-v3-iommufd.c
        // arm_vsmmu_cache_invalidate()).
        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.ENOMEM));
            Assert.That(entryNum, Is.Zero);
            Assert.That(Plugin.InvalidationTookEffect(Rig, 0), Is.False);
        }
    }

    [Test]
    public void Once_the_device_is_unbound_an_entry_for_its_former_virt_id_is_refused()
    {
        var (viommu, _) = AttachNested();
        DriverContractRig.Expect(Rig.File.UnbindDevice(Rig.DevId), "unbind dev0");
        uint entryNum = 1;

        var rc = Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.EntryForUnknownVirtId(VirtId)), ref entryNum);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Plugin.UnknownVirtIdErrno), "the vDEVICE left the vIOMMU's table with the device");
            Assert.That(entryNum, Is.Zero);
        }
    }

    // ---- vEVENTQ -----------------------------------------------------------------------------------------------

    [Test]
    public void A_second_vEVENTQ_of_the_same_type_is_EEXIST()
    {
        uint viommu = AllocViommu();

        var first = Rig.AllocVeventq(viommu, Plugin.VeventqType, 2, out _);
        var second = Rig.AllocVeventq(viommu, Plugin.VeventqType, 2, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(Errno.Success));
            Assert.That(second, Is.EqualTo(Errno.EEXIST));
            Assert.That(Rig.File.OpenFileCount, Is.EqualTo(1), "one event fd");
        }
    }

    [Test]
    public void A_vEVENTQ_of_depth_0_is_EINVAL()
    {
        uint viommu = AllocViommu();

        var rc = Rig.AllocVeventq(viommu, Plugin.VeventqType, 0, out uint veventq);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(veventq, Is.Zero, "no ID handed out");
            Assert.That(Rig.File.OpenFileCount, Is.Zero, "no event fd");
        }
    }

    // ---- Close -------------------------------------------------------------------------------------------------

    [Test]
    public void Closing_the_file_destroys_every_object_and_leaks_no_physical_frame()
    {
        var (viommu, _) = AttachNested();
        DriverContractRig.Expect(Rig.AllocVeventq(viommu, Plugin.VeventqType, 2, out _), "VEVENTQ_ALLOC");
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.OtherDevId, VirtId + 1, out _), "VDEVICE_ALLOC for dev1");
        uint paging = AllocPaging(0);
        DriverContractRig.Expect(Rig.Attach(Rig.OtherDevId, paging), "attach dev1 to a paging HWPT");
        Plugin.PrepareObservation(Rig, 0);
        uint entryNum = 1;
        DriverContractRig.Expect(Rig.Invalidate(viommu, Plugin.InvalidationDataType, Plugin.EntryLength, Entries(Plugin.ValidEntry(VirtId, 0)), ref entryNum), "HWPT_INVALIDATE");
        int objectsBefore = Rig.File.ObjectCount;
        ulong address = Plugin.MapGuestPage(Rig, 5);
        Assert.That(Rig.Device.DmaRead(address, new byte[8]), Is.EqualTo(DmaStatus.Ok), "setup: DMA before close");

        Rig.CloseFileAndUnmapProcess();
        var afterClose = Rig.Device.DmaRead(address, new byte[8]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(objectsBefore, Is.GreaterThan(0), "setup made objects");
            Assert.That(Rig.File.ObjectCount, Is.Zero, "objects left after close");
            Assert.That(Rig.File.OpenFileCount, Is.Zero, "event fds left after close");
            Assert.That(Rig.Memory.FrameCount, Is.EqualTo(Rig.StartupFrameCount), "physical frames beyond the plugin's start-up allocations");
            Assert.That(afterClose, Is.Not.EqualTo(DmaStatus.Ok), "the unbound device is blocked");
        }
    }

    // ---- Helpers -----------------------------------------------------------------------------------------------

    /// <summary>A data type no driver here takes: the selftest's SELFTEST_INVALID.</summary>
    private uint WrongDataType()
    {
        const uint wrong = (uint)IommuHwptInvalidateDataType.SelftestInvalid;
        Assert.That(Plugin.InvalidationDataType, Is.Not.EqualTo(wrong), "setup: the plugin does not take SELFTEST_INVALID");
        return wrong;
    }

    private uint AllocPaging(IommuHwptAllocFlags flags)
    {
        DriverContractRig.Expect(Rig.AllocPaging(Rig.DevId, flags, out uint hwpt), $"HWPT_ALLOC (paging, {flags})");
        return hwpt;
    }

    /// <summary>A vIOMMU of the plugin's type on a new nest parent.</summary>
    private uint AllocViommu()
    {
        uint parent = AllocPaging(IommuHwptAllocFlags.NestParent);
        DriverContractRig.Expect(Rig.AllocViommu(Rig.DevId, parent, (uint)Plugin.ViommuType, out uint viommu), "VIOMMU_ALLOC");
        return viommu;
    }

    /// <summary>A stage-1 nested HWPT from <paramref name="viommu"/>, with the guest's data from the plugin.</summary>
    private uint AllocNested(uint viommu)
    {
        byte[] data = Plugin.CreateNestedHwptData(Rig);
        DriverContractRig.Expect(Rig.AllocHwpt(Rig.DevId, viommu, 0, Plugin.NestedDataType, data, out uint nested), "HWPT_ALLOC (nested)");
        return nested;
    }

    /// <summary>vIOMMU, vDEVICE <see cref="VirtId"/> for dev0, a stage-1 nested HWPT, and dev0 attached to it.</summary>
    private (uint Viommu, uint Nested) AttachNested()
    {
        uint viommu = AllocViommu();
        DriverContractRig.Expect(Rig.AllocVdevice(viommu, Rig.DevId, VirtId, out _), "VDEVICE_ALLOC");
        uint nested = AllocNested(viommu);
        DriverContractRig.Expect(Rig.Attach(Rig.DevId, nested), "attach to the nested HWPT");
        return (viommu, nested);
    }

    /// <summary>Puts the entries back to back in user memory; returns the array's address.</summary>
    private ulong Entries(params byte[][] entries) => Entries(0, 0, entries);

    /// <summary>
    /// Puts the entries in user memory, each followed by <paramref name="tailLength"/> bytes of
    /// <paramref name="tail"/> (a struct longer than the driver's); returns the array's address.
    /// </summary>
    private ulong Entries(int tailLength, byte tail, params byte[][] entries)
    {
        var array = new List<byte>();
        foreach (var e in entries)
        {
            Assert.That(e, Has.Length.EqualTo((int)Plugin.EntryLength), "setup: entry length");
            array.AddRange(e);
            array.AddRange(Enumerable.Repeat(tail, tailLength));
        }

        return Rig.Put(array.ToArray());
    }
}
