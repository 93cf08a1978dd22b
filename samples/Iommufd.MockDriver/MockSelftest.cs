using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.MockDriver;

/// <summary>
/// IOMMU_TEST_CMD on the mock IOMMU, op by op as drivers/iommu/iommufd/selftest.c iommufd_test() dispatches them.
/// Ops not modelled yet answer EOPNOTSUPP, the kernel's answer to an unknown op.
/// </summary>
internal sealed class MockSelftest : ISelftestCommands
{
    // selftest.c mock_dev_create(): the device flags MOCK_DOMAIN_FLAGS accepts.
    private const uint KnownDeviceFlags = MockDevice.NoDirty | MockDevice.HugeIova | MockDevice.Pasid;
    private const uint NeedsPinPages = 1; // MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES

    /// <summary>
    /// This emulation's own CREATE_ACCESS flag (no iommufd_test.h value): the access keeps its pins across unmap
    /// notifications, so an unmap that meets them gives up with EDEADLK (io_pagetable.c iopt_unmap_iova_range()).
    /// </summary>
    internal const uint KeepPinsOnUnmap = 1u << 31;
    private const uint AccessRwWrite = 1 << 0; // MOCK_ACCESS_RW_WRITE
    private const uint AccessRwSlowPath = 1 << 2; // MOCK_ACCESS_RW_SLOW_PATH
    private const uint AccessSyz = 1 << 16; // MOCK_FLAGS_ACCESS_SYZ

    private readonly Platform _platform;

    public MockSelftest(Platform platform) => _platform = platform;

    public Errno Execute(ISelftestContext context, ref IommuTestCmd cmd, ref bool respond)
    {
        ArgumentNullException.ThrowIfNull(context);
        switch ((IommuTestOp)cmd.Op)
        {
            case IommuTestOp.AddReserved:
                // selftest.c iommufd_test_add_reserved(): start + length - 1, unchecked, as the kernel computes it.
                return context.ReserveIova(cmd.Id, cmd.AddReservedStart, cmd.AddReservedStart + cmd.AddReservedLength - 1);
            case IommuTestOp.MockDomain:
            case IommuTestOp.MockDomainFlags:
                return MockDomain(context, ref cmd, ref respond);
            case IommuTestOp.MockDomainReplace:
                var rc = context.ReplaceDevice(cmd.Id, ref cmd.MockDomainReplacePtId);
                respond = rc == Errno.Success;
                return rc;
            case IommuTestOp.MdCheckMap:
                return CheckMap(context, cmd.Id, cmd.CheckMapIova, cmd.CheckMapLength, cmd.CheckMapUptr);
            case IommuTestOp.MdCheckRefs:
                return CheckRefs(context, cmd.CheckRefsUptr, cmd.CheckRefsLength, cmd.CheckRefsRefs);
            case IommuTestOp.MdCheckIotlb:
                return CheckIotlb(context, cmd.Id, cmd.CheckIotlbId, cmd.CheckIotlbIotlb);
            case IommuTestOp.DevCheckCache:
                return CheckDeviceCache(context, cmd.Id, cmd.CheckDevCacheId, cmd.CheckDevCacheCache);
            case IommuTestOp.CreateAccess:
                return CreateAccess(context, ref cmd, ref respond);
            case IommuTestOp.AccessRw:
                return AccessRw(context, (int)cmd.Id, cmd.AccessRwIova, cmd.AccessRwLength, cmd.AccessRwUptr, cmd.AccessRwFlags);
            case IommuTestOp.AccessPages:
                return AccessPages(context, ref cmd, ref respond);
            case IommuTestOp.DestroyAccessPages:
                // selftest.c iommufd_test_access_item_destroy(): the access (EBADFD), then the item (ENOENT).
                rc = context.GetAccess((int)cmd.Id, out var staccess);
                return rc != Errno.Success ? rc : staccess.UnpinPages(cmd.DestroyAccessPagesAccessPagesId);
            case IommuTestOp.AccessReplaceIoas:
                return context.ReplaceAccessIoas((int)cmd.Id, cmd.AccessReplaceIoasIoasId);
            case IommuTestOp.TriggerIopf:
                return context.ReportPageFault(cmd.TriggerIopfDevId, new IommuHwptPgfault
                {
                    // selftest.c iommufd_test_trigger_iopf(): the last page of its group, PASID_VALID with a PASID.
                    Flags = (uint)IommuHwptPgfaultFlags.LastPage | (cmd.TriggerIopfPasid != 0 ? (uint)IommuHwptPgfaultFlags.PasidValid : 0),
                    Pasid = cmd.TriggerIopfPasid,
                    Grpid = cmd.TriggerIopfGrpid,
                    Perm = cmd.TriggerIopfPerm,
                    Addr = cmd.TriggerIopfAddr, // eventq.c iommufd_compose_fault_message() reports length 0
                });
            case IommuTestOp.TriggerVevent:
                // selftest.c iommufd_test_trigger_vevent(): the device (ENOENT), then the mock's report.
                rc = context.GetDevice(cmd.TriggerVeventDevId, out var device);
                return rc != Errno.Success ? rc
                    : device.Iommu is MockIommu mock ? mock.TriggerVevent(device)
                    : Refusal.Because(Errno.ENOENT, $"TRIGGER_VEVENT: dev_id {cmd.TriggerVeventDevId} is not behind a mock IOMMU");
            case IommuTestOp.Dirty:
                return Dirty(context, ref cmd, ref respond);
            case IommuTestOp.SetTempMemoryLimit:
                // iommufd_test(): below sizeof(unsigned long) + sizeof(u32) is EINVAL. The emulation has no batch
                // memory to limit, so a valid limit changes nothing.
                return cmd.MemoryLimitLimit < sizeof(ulong) + sizeof(uint)
                    ? Refusal.Because(Errno.EINVAL, $"SET_TEMP_MEMORY_LIMIT: limit {cmd.MemoryLimitLimit} is below one batch element ({sizeof(ulong) + sizeof(uint)} bytes)")
                    : Errno.Success;
            case IommuTestOp.PasidAttach:
                // selftest.c iommufd_test_pasid_attach(): the HWPT attached goes back in pt_id.
                rc = context.AttachPasid(cmd.Id, cmd.PasidAttachPasid, ref cmd.PasidAttachPtId);
                respond = rc == Errno.Success;
                return rc;
            case IommuTestOp.PasidReplace:
                // selftest.c iommufd_test_pasid_replace(): like the attach, the HWPT now attached goes back in pt_id.
                rc = context.ReplacePasid(cmd.Id, cmd.PasidAttachPasid, ref cmd.PasidAttachPtId);
                respond = rc == Errno.Success;
                return rc;
            case IommuTestOp.PasidDetach:
                return context.DetachPasid(cmd.Id, cmd.PasidAttachPasid);
            case IommuTestOp.PasidCheckHwpt:
                return CheckPasidHwpt(context, cmd.Id, cmd.PasidAttachPasid, cmd.PasidAttachPtId);
            default:
                return Refusal.Because(Errno.EOPNOTSUPP, $"op {cmd.Op} is not an IOMMU_TEST_OP the mock serves");
        }
    }

    /// <summary>
    /// What selftest.c's handlers undo when iommufd_ucmd_respond() fails: iommufd_test_mock_domain() the device and its
    /// selftest object, iommufd_test_create_access() the access's fd, iommufd_test_access_pages() the pin,
    /// iommufd_test_pasid_attach() the attachment. A replace, a DIRTY or a check stays as it is.
    /// </summary>
    public void AbortResponse(ISelftestContext context, in IommuTestCmd cmd)
    {
        ArgumentNullException.ThrowIfNull(context);
        switch ((IommuTestOp)cmd.Op)
        {
            case IommuTestOp.MockDomain:
            case IommuTestOp.MockDomainFlags:
                context.DestroyCreated(cmd.MockDomainOutStdevId);
                break;
            case IommuTestOp.CreateAccess:
                context.CloseCreated((int)cmd.CreateAccessOutAccessFd);
                break;
            case IommuTestOp.AccessPages:
                if (context.GetAccess((int)cmd.Id, out var access) == Errno.Success)
                {
                    access.UnpinPages(cmd.AccessPagesOutAccessPagesId);
                }

                break;
            case IommuTestOp.PasidAttach:
                context.DetachPasid(cmd.Id, cmd.PasidAttachPasid);
                break;
        }
    }

    /// <summary>
    /// selftest.c iommufd_test_pasid_check_hwpt(): the selftest object (ENOENT); hwpt_id 0 asks that the PASID be
    /// detached (EINVAL when a domain is attached), any other must name a HWPT (ENOENT; another kind EINVAL) whose
    /// domain is the one attached to the PASID (EINVAL otherwise). The attachment is the core's attach handle, as the
    /// kernel reads the group's PASID array, not the driver's table.
    /// </summary>
    private static Errno CheckPasidHwpt(ISelftestContext context, uint stdevId, uint pasid, uint hwptId)
    {
        var rc = context.GetAttachedDomain(stdevId, pasid, out var attached);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (hwptId == 0)
        {
            return attached is null ? Errno.Success : Refusal.Because(Errno.EINVAL, $"PASID_CHECK_HWPT: PASID {pasid} has a domain attached, hwpt_id 0 asks for none");
        }

        rc = context.GetHwptDomain(hwptId, out var domain);
        return rc != Errno.Success || ReferenceEquals(attached, domain)
            ? rc
            : Refusal.Because(Errno.EINVAL, $"PASID_CHECK_HWPT: PASID {pasid} is not attached to HWPT {hwptId}");
    }

    /// <summary>
    /// selftest.c iommufd_test_mock_domain(): a device (flags checked by mock_dev_create(), EINVAL), bound and
    /// attached to <c>id</c> (an IOAS or a HWPT).
    /// </summary>
    private Errno MockDomain(ISelftestContext context, ref IommuTestCmd cmd, ref bool respond)
    {
        uint flags = (IommuTestOp)cmd.Op == IommuTestOp.MockDomainFlags ? cmd.MockDomainFlagsDevFlags : 0;
        if ((flags & ~KnownDeviceFlags) != 0)
        {
            return Refusal.Because(Errno.EINVAL, $"MOCK_DOMAIN_FLAGS: dev_flags 0x{flags:x} has bits other than NO_DIRTY, HUGE_IOVA and PASID");
        }

        var iommu = _platform.Iommus.OfType<MockIommu>().First();
        // selftest.c mock_dev_create(): a PASID device gets "pasid-num-bits" MOCK_PASID_WIDTH.
        int pasidBits = (flags & MockDevice.Pasid) != 0 ? (int)SelftestConstants.MockPasidWidth : 0;
        var rc = context.CreateDevice(iommu, pasidBits, d => iommu.GetDevice(d).Flags = flags, cmd.Id, out var ids);
        if (rc != Errno.Success)
        {
            return rc;
        }

        cmd.MockDomainOutStdevId = ids.StdevId;
        cmd.MockDomainOutHwptId = ids.HwptId;
        cmd.MockDomainOutIdevId = ids.IdevId;
        respond = true;
        return Errno.Success;
    }

    /// <summary>
    /// selftest.c iommufd_test_create_access(): flags other than MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES (and this
    /// emulation's <see cref="KeepPinsOnUnmap"/>) are EOPNOTSUPP, then an access attached to the IOAS <c>id</c>
    /// (ENOENT), returned as an fd.
    /// </summary>
    private static Errno CreateAccess(ISelftestContext context, ref IommuTestCmd cmd, ref bool respond)
    {
        if ((cmd.CreateAccessFlags & ~(NeedsPinPages | KeepPinsOnUnmap)) != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"CREATE_ACCESS: flags 0x{cmd.CreateAccessFlags:x} has bits other than NEEDS_PIN_PAGES");
        }

        var rc = context.CreateAccess(cmd.Id, (cmd.CreateAccessFlags & NeedsPinPages) != 0, (cmd.CreateAccessFlags & KeepPinsOnUnmap) != 0, out _, out int fd);
        if (rc == Errno.Success)
        {
            cmd.CreateAccessOutAccessFd = (uint)fd;
            respond = true;
        }

        return rc;
    }

    /// <summary>
    /// selftest.c iommufd_test_access_pages(): more than 16 MiB is ENOMEM, flags other than MOCK_FLAGS_ACCESS_WRITE
    /// (and _SYZ) EOPNOTSUPP, an fd that is no access EBADFD, an access made without NEEDS_PIN_PAGES EOPNOTSUPP; then
    /// the pin (device.c iommufd_access_pin_pages()) and, with a user pointer, each pinned page must be the page
    /// under it (iommufd_test_check_pages(): EFAULT unmapped, EBADE another page; the pin is undone). The item's ID
    /// comes back in out_access_pages_id.
    /// </summary>
    private static Errno AccessPages(ISelftestContext context, ref IommuTestCmd cmd, ref bool respond)
    {
        const uint accessWrite = 1 << 0; // MOCK_FLAGS_ACCESS_WRITE
        if (cmd.AccessPagesLength > 16UL << 20)
        {
            return Refusal.Because(Errno.ENOMEM, $"ACCESS_PAGES: length 0x{cmd.AccessPagesLength:x} is over 16 MiB");
        }

        if ((cmd.AccessPagesFlags & ~(accessWrite | AccessSyz)) != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"ACCESS_PAGES: flags 0x{cmd.AccessPagesFlags:x} has bits other than WRITE and SYZ");
        }

        var rc = context.GetAccess((int)cmd.Id, out var access);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (!access.NeedsPinPages)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"ACCESS_PAGES: access fd {cmd.Id} was created without NEEDS_PIN_PAGES");
        }

        ulong iova = cmd.AccessPagesIova;
        rc = access.PinPages(iova, cmd.AccessPagesLength, (cmd.AccessPagesFlags & accessWrite) != 0, out uint id, out var pages);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (cmd.AccessPagesUptr != 0)
        {
            const ulong pageMask = PhysicalMemory.PageSize - 1;
            ulong uptr = cmd.AccessPagesUptr - (iova & pageMask);
            for (int i = 0; i < pages.Length && rc == Errno.Success; i++, uptr += PhysicalMemory.PageSize)
            {
                rc = !context.TryGetPhysicalAddress(uptr, out ulong pa) ? Refusal.Because(Errno.EFAULT, $"ACCESS_PAGES: uptr page 0x{uptr:x} is not mapped")
                    : (pa & ~pageMask) != pages[i] ? Refusal.Because(Errno.EBADE, $"ACCESS_PAGES: uptr page 0x{uptr:x} is not the page pinned at iova 0x{iova + ((ulong)i * PhysicalMemory.PageSize):x}")
                    : Errno.Success;
            }

            if (rc != Errno.Success)
            {
                access.UnpinPages(id);
                return rc;
            }
        }

        cmd.AccessPagesOutAccessPagesId = id;
        respond = true;
        return Errno.Success;
    }

    /// <summary>
    /// selftest.c iommufd_test_access_rw(): more than 16 MiB is ENOMEM, unknown flags EOPNOTSUPP, an fd that is no
    /// access EBADFD; a write reads the user buffer first (EFAULT), a read writes it last (EFAULT).
    /// </summary>
    private static Errno AccessRw(ISelftestContext context, int accessFd, ulong iova, ulong length, ulong uptr, uint flags)
    {
        if (length > 16UL << 20)
        {
            return Refusal.Because(Errno.ENOMEM, $"ACCESS_RW: length 0x{length:x} is over 16 MiB");
        }

        if ((flags & ~(AccessRwWrite | AccessRwSlowPath | AccessSyz)) != 0)
        {
            return Refusal.Because(Errno.EOPNOTSUPP, $"ACCESS_RW: flags 0x{flags:x} has bits other than WRITE, SLOW_PATH and SYZ");
        }

        var rc = context.GetAccess(accessFd, out var access);
        if (rc != Errno.Success)
        {
            return rc;
        }

        bool write = (flags & AccessRwWrite) != 0;
        var buffer = new byte[length];
        if (write)
        {
            if (!context.Memory.TryGetSpan(uptr, length, out var source))
            {
                return Refusal.Because(Errno.EFAULT, $"ACCESS_RW: the 0x{length:x} bytes at uptr 0x{uptr:x} cannot be read");
            }

            source.CopyTo(buffer);
        }

        rc = access.ReadWrite(iova, buffer, write);
        if (rc != Errno.Success || write)
        {
            return rc;
        }

        return context.Memory.TryWrite(uptr, buffer) // copy_to_user
            ? Errno.Success
            : Refusal.Because(Errno.EFAULT, $"ACCESS_RW: the 0x{length:x} bytes at uptr 0x{uptr:x} cannot be written");
    }

    /// <summary>
    /// selftest.c iommufd_test_dirty(): page_size 0, length 0, an iova or length off page_size or a NULL bitmap is
    /// EINVAL; then the paging HWPT (ENOENT; not a mock domain EINVAL), which must be tracking dirty pages (EINVAL);
    /// then the user bitmap of one bit per page (kvzalloc ENOMEM, copy_from_user EFAULT). Each set bit marks the page
    /// at iova + i * page_size dirty, as the page table's set_dirty() does, and out_nr_dirty counts the set bits.
    /// </summary>
    private static Errno Dirty(ISelftestContext context, ref IommuTestCmd cmd, ref bool respond)
    {
        ulong iova = cmd.DirtyIova, length = cmd.DirtyLength, pageSize = cmd.DirtyPageSize;
        if (pageSize == 0 || length == 0 || iova % pageSize != 0 || length % pageSize != 0 || cmd.DirtyUptr == 0)
        {
            return Refusal.Because(Errno.EINVAL, $"DIRTY: iova 0x{iova:x} length 0x{length:x} page_size 0x{pageSize:x} is not a range of whole pages, or uptr is NULL");
        }

        var rc = context.GetPagingDomain(cmd.Id, out var domain);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (domain is not MockPagingDomain { IsTracking: true } mock)
        {
            return Refusal.Because(Errno.EINVAL, $"DIRTY: HWPT {cmd.Id} is not a mock domain tracking dirty pages");
        }

        ulong pages = length / pageSize;
        ulong bytes = (pages + 7) / 8;
        if (bytes > int.MaxValue)
        {
            return Refusal.Because(Errno.ENOMEM, $"DIRTY: a bitmap of 0x{bytes:x} bytes");
        }

        if (!context.Memory.TryGetSpan(cmd.DirtyUptr, bytes, out var bitmap))
        {
            return Refusal.Because(Errno.EFAULT, $"DIRTY: the 0x{bytes:x}-byte bitmap at uptr 0x{cmd.DirtyUptr:x} cannot be read");
        }

        ulong count = 0;
        for (ulong i = 0; i < pages; i++)
        {
            if ((bitmap[(int)(i / 8)] & (1 << (int)(i % 8))) != 0)
            {
                mock.MarkDirty(iova + i * pageSize);
                count++;
            }
        }

        cmd.DirtyOutNrDirty = count;
        respond = true;
        return Errno.Success;
    }

    /// <summary>
    /// selftest.c iommufd_test_md_check_pa(): alignment to MOCK_IO_PAGE_SIZE (EINVAL), the paging HWPT (ENOENT; not
    /// a mock domain EINVAL), then each mock page of the range must map the physical address under the user VA
    /// (unmapped user memory EFAULT, a mismatch or a hole EINVAL).
    /// </summary>
    private static Errno CheckMap(ISelftestContext context, uint hwptId, ulong iova, ulong length, ulong uptr)
    {
        const ulong page = MockPagingDomain.IoPageSize;
        if (iova % page != 0 || length % page != 0 || uptr % page != 0 || uptr + length < uptr)
        {
            return Refusal.Because(Errno.EINVAL, $"MD_CHECK_MAP: iova 0x{iova:x}, length 0x{length:x} or uptr 0x{uptr:x} is off the {page}-byte mock page, or the range wraps");
        }

        var rc = context.GetPagingDomain(hwptId, out var domain);
        if (rc != Errno.Success)
        {
            return rc;
        }

        if (domain is not MockPagingDomain)
        {
            return Refusal.Because(Errno.EINVAL, $"MD_CHECK_MAP: HWPT {hwptId} is not a mock domain");
        }

        for (; length > 0; length -= page, iova += page, uptr += page)
        {
            if (!context.TryGetPhysicalAddress(uptr, out ulong expected))
            {
                return Refusal.Because(Errno.EFAULT, $"MD_CHECK_MAP: uptr 0x{uptr:x} is not mapped");
            }

            if (!domain.TryTranslate(iova, out ulong actual, out _) || actual != expected)
            {
                return Refusal.Because(Errno.EINVAL, $"MD_CHECK_MAP: iova 0x{iova:x} does not map the page under uptr 0x{uptr:x}");
            }
        }

        return Errno.Success;
    }

    /// <summary>
    /// selftest.c iommufd_test_md_check_refs(): alignment to PAGE_SIZE (EINVAL), then each page's pin count must be
    /// <paramref name="refs"/> (unmapped user memory EFAULT, another count EIO).
    /// </summary>
    private static Errno CheckRefs(ISelftestContext context, ulong uptr, ulong length, uint refs)
    {
        const ulong page = PhysicalMemory.PageSize;
        if (length % page != 0 || uptr % page != 0 || uptr + length < uptr)
        {
            return Refusal.Because(Errno.EINVAL, $"MD_CHECK_REFS: uptr 0x{uptr:x} or length 0x{length:x} is off the CPU page, or the range wraps");
        }

        for (; length > 0; length -= page, uptr += page)
        {
            if (!context.TryGetPhysicalAddress(uptr, out _))
            {
                return Refusal.Because(Errno.EFAULT, $"MD_CHECK_REFS: uptr 0x{uptr:x} is not mapped");
            }

            if (context.CountPins(uptr) is var pins && pins != refs)
            {
                return Refusal.Because(Errno.EIO, $"MD_CHECK_REFS: the page at uptr 0x{uptr:x} has {pins} pins, not {refs}");
            }
        }

        return Errno.Success;
    }

    /// <summary>selftest.c iommufd_test_md_check_iotlb(): the nested HWPT (ENOENT), its mock domain and slot (EINVAL).</summary>
    private static Errno CheckIotlb(ISelftestContext context, uint hwptId, uint slot, uint iotlb)
    {
        var rc = context.GetNestedDomain(hwptId, out var domain);
        if (rc != Errno.Success)
        {
            return rc;
        }

        return domain is not MockNestedDomain mock ? Refusal.Because(Errno.EINVAL, $"MD_CHECK_IOTLB: HWPT {hwptId} is not a mock nested domain")
            : slot > SelftestConstants.MockNestedDomainIotlbIdMax ? Refusal.Because(Errno.EINVAL, $"MD_CHECK_IOTLB: id {slot} is beyond the last IOTLB slot {SelftestConstants.MockNestedDomainIotlbIdMax}")
            : mock.GetIotlb((int)slot) is var value && value != iotlb ? Refusal.Because(Errno.EINVAL, $"MD_CHECK_IOTLB: slot {slot} holds 0x{value:x}, not 0x{iotlb:x}")
            : Errno.Success;
    }

    /// <summary>selftest.c iommufd_test_dev_check_cache(): the device (ENOENT), then the slot and its value (EINVAL).</summary>
    private static Errno CheckDeviceCache(ISelftestContext context, uint devId, uint slot, uint cache)
    {
        var rc = context.GetDevice(devId, out var device);
        if (rc != Errno.Success)
        {
            return rc;
        }

        return device.Iommu is not MockIommu mock ? Refusal.Because(Errno.EINVAL, $"DEV_CHECK_CACHE: dev_id {devId} is not behind a mock IOMMU")
            : slot > SelftestConstants.MockDevCacheIdMax ? Refusal.Because(Errno.EINVAL, $"DEV_CHECK_CACHE: id {slot} is beyond the last cache slot {SelftestConstants.MockDevCacheIdMax}")
            : mock.GetDeviceCache(device, (int)slot) is var value && value != cache ? Refusal.Because(Errno.EINVAL, $"DEV_CHECK_CACHE: slot {slot} holds 0x{value:x}, not 0x{cache:x}")
            : Errno.Success;
    }
}
