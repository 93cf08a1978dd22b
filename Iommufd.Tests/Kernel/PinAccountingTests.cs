using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using static Iommufd.Tests.Kernel.IoasCalls;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// RLIMIT_MEMLOCK accounting of pinned pages (pages.c iopt_pages_update_pinned(), incr_user_locked_vm(),
/// decr_user_locked_vm(), update_mm_locked_vm(); ioas.c iommufd_option_rlimit_mode()), through raw ioctls on the mock:
/// pages are charged when something pins them (a domain here), to the user or, with IOMMU_OPTION_RLIMIT_MODE 1, to the
/// process; a pin past the limit is ENOMEM and charges nothing; the unpin gives the count back.
/// </summary>
public class PinAccountingTests
{
    private const ulong Page = MockFixture.PageSize;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    [Test]
    public void Pages_are_charged_to_the_user_when_a_domain_pins_them_and_given_back_by_the_unmap()
    {
        // pages.c: a map with no domain is a lazy reference (nothing charged); iopt_area_fill_domain() charges through
        // pfn_reader_update_pinned(); iopt_area_unfill_domain() gives back through update_unpinned().
        using var fx = new MockFixture();
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, 4 * Page, Aperture), "map");
        long lazy = fx.Process.User.LockedPages;
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        long attached = fx.Process.User.LockedPages, pinned = fx.Process.PinnedPages;
        MockFixture.Expect(fx.Unmap(Aperture, 4 * Page), "unmap");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(lazy, Is.Zero, "nothing pinned yet");
            Assert.That(attached, Is.EqualTo(4), "incr_user_locked_vm()");
            Assert.That(pinned, Is.EqualTo(4), "mm->pinned_vm");
            Assert.That(fx.Process.User.LockedPages, Is.Zero, "decr_user_locked_vm()");
            Assert.That(fx.Process.PinnedPages, Is.Zero);
            Assert.That(fx.Process.LockedPages, Is.Zero, "RLIMIT_MODE 0 leaves mm->locked_vm alone");
        }
    }

    [Test]
    public void A_pin_past_RLIMIT_MEMLOCK_is_ENOMEM_charges_nothing_and_leaves_no_mapping()
    {
        // pages.c incr_user_locked_vm(): new_pages > lock_limit is ENOMEM; io_pagetable.c iopt_map_pages() then
        // aborts the area.
        using var fx = new MockFixture();
        fx.Process.MemlockLimit = 3 * Page;
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");

        var over = fx.MapAt(fx.IoasId, fx.GuestRam.Address, 4 * Page, Aperture);
        long afterRefusal = fx.Process.User.LockedPages;
        var within = fx.MapAt(fx.IoasId, fx.GuestRam.Address, 3 * Page, Aperture);
        var oneMore = fx.MapAt(fx.IoasId, fx.GuestRam.Address + 4 * Page, Page, Aperture + 4 * Page);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(over, Is.EqualTo(Errno.ENOMEM));
            Assert.That(afterRefusal, Is.Zero, "the refused pin charged nothing");
            Assert.That(within, Is.EqualTo(Errno.Success), "the IOVA is free again and 3 pages fit");
            Assert.That(oneMore, Is.EqualTo(Errno.ENOMEM), "a fourth page is past the limit");
            Assert.That(fx.Process.User.LockedPages, Is.EqualTo(3));
            Assert.That(fx.GuestRam.IsPinned, Is.True, "only the mapping that fit pins");
        }
    }

    [Test]
    public void A_domain_that_would_pin_past_the_limit_cannot_attach()
    {
        // io_pagetable.c iopt_table_add_domain() -> iopt_fill_domain(): the charge fails, the domain is not added.
        using var fx = new MockFixture();
        fx.Process.MemlockLimit = Page;
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, 2 * Page, Aperture), "lazy map");

        var attach = fx.Attach(fx.IoasId);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(attach, Is.EqualTo(Errno.ENOMEM));
            Assert.That(fx.Process.User.LockedPages, Is.Zero);
            Assert.That(fx.GuestRam.IsPinned, Is.False);
        }
    }

    [Test]
    public void A_copy_into_another_ioas_shares_the_charge_of_its_pages()
    {
        // io_pagetable.c iopt_get_pages(): the copy takes the same iopt_pages, whose npinned is charged once.
        using var fx = new MockFixture();
        fx.Process.MemlockLimit = 2 * Page;
        uint src = fx.AllocIoas();
        MockFixture.Expect(fx.MapAt(src, fx.GuestRam.Address, 2 * Page, 0x40000), "map");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");

        var copy = fx.Copy(fx.IoasId, src, 0x40000, 2 * Page, Aperture);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(copy, Is.EqualTo(Errno.Success), "the same two pages fit the limit of two");
            Assert.That(fx.Process.User.LockedPages, Is.EqualTo(2));
        }
    }

    [Test]
    public void Only_the_pages_some_area_pins_are_charged_and_overlapping_slices_count_once()
    {
        // pages.c: npinned counts the indexes the domains_itree and access_itree cover, each page once; an area
        // filled into a domain covers iopt_area_index()..iopt_area_last_index() of its pages.
        using var fx = new MockFixture();
        uint src = fx.AllocIoas();
        MockFixture.Expect(fx.MapAt(src, fx.GuestRam.Address, 4 * Page, 0x40000), "lazy map of 4 pages");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");

        MockFixture.Expect(fx.Copy(fx.IoasId, src, 0x40000 + Page, 2 * Page, Aperture), "copy pages 1-2");
        long firstSlice = fx.Process.User.LockedPages;
        MockFixture.Expect(fx.Copy(fx.IoasId, src, 0x40000 + 2 * Page, 2 * Page, Aperture + 4 * Page), "copy pages 2-3");
        long overlapping = fx.Process.User.LockedPages;
        MockFixture.Expect(fx.Unmap(Aperture, 2 * Page), "unmap pages 1-2");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(firstSlice, Is.EqualTo(2), "the lazy source pins nothing");
            Assert.That(overlapping, Is.EqualTo(3), "page 2 counts once");
            Assert.That(fx.Process.User.LockedPages, Is.EqualTo(2), "pages 2-3 stay pinned");
        }
    }

    [Test]
    public void An_access_charges_only_the_pages_it_pins_and_gives_them_back_when_it_unpins()
    {
        // pages.c iopt_area_add_access() pins index..last_index of the area (the access_itree) and charges those;
        // iopt_area_remove_access() unpins them again when no domain holds the area; device.c
        // iommufd_access_pin_pages() undoes the areas it pinned when a later one fails.
        using var fx = new MockFixture();
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, 4 * Page, 0x10000), "lazy map of 4 pages");
        var gone = fx.Process.Map((long)Page);
        MockFixture.Expect(fx.MapAt(fx.IoasId, gone.Address, Page, 0x10000 + 4 * Page), "a lazy page after it");
        fx.Process.Unmap(gone); // the process lets go of it before anything pinned it
        int fd = TestCmdTests.CreateAccess(fx, fx.IoasId, needsPinPages: true);
        MockFixture.Expect(TestCmdTests.AccessPages(fx, fd, 0x10000 + Page, 2 * Page, 0, write: true, out uint id), "pin pages 1-2");
        long pinned = fx.Process.User.LockedPages;
        var refused = TestCmdTests.AccessPages(fx, fd, 0x10000 + 3 * Page, 2 * Page, 0, write: true, out _);
        long afterRefusal = fx.Process.User.LockedPages;
        MockFixture.Expect(TestCmdTests.DestroyAccessPages(fx, fd, id), "unpin");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(pinned, Is.EqualTo(2), "2 of the area's 4 pages");
            Assert.That(refused, Is.EqualTo(Errno.EFAULT), "page 3 pins, the unmapped page after it cannot");
            Assert.That(afterRefusal, Is.EqualTo(2), "the refused pin leaves nothing charged");
            Assert.That(fx.Process.User.LockedPages, Is.Zero, "given back with the unpin");
            Assert.That(fx.GuestRam.IsPinned, Is.False);
        }
    }

    [Test]
    public void Detaching_the_last_domain_gives_the_pages_back()
    {
        // io_pagetable.c iopt_table_remove_domain() -> iopt_unfill_domain(): with the last domain each area is
        // unfilled and its pages unpinned (update_unpinned()); the map stays a lazy reference.
        using var fx = new MockFixture();
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, 4 * Page, Aperture), "map");
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        long attached = fx.Process.User.LockedPages;
        MockFixture.Expect(fx.Detach(), "detach");
        long detached = fx.Process.User.LockedPages;
        bool pinnedDetached = fx.GuestRam.IsPinned;
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach again");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(attached, Is.EqualTo(4));
            Assert.That((detached, pinnedDetached), Is.EqualTo((0L, false)), "nothing holds the pages");
            Assert.That(fx.Process.User.LockedPages, Is.EqualTo(4), "a new domain pins them again");
        }
    }

    [Test]
    public void A_read_or_write_through_an_access_charges_nothing()
    {
        // pages.c iopt_pages_rw_slow(): pfn_reader pins the pages for the copy and releases them before any update.
        using var fx = new MockFixture();
        fx.Process.MemlockLimit = 0;
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, Page, 0x10000), "map");
        var create = new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = fx.IoasId };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref create), "CREATE_ACCESS");
        var rw = new IommuTestCmd
        {
            Op = (uint)IommuTestOp.AccessRw, Id = create.CreateAccessOutAccessFd, AccessRwIova = 0x10000, AccessRwLength = 8,
            AccessRwUptr = fx.Put(new byte[8]),
        };

        Assert.That(fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref rw), Is.EqualTo(Errno.Success));
        Assert.That(fx.Process.PinnedPages, Is.Zero);
    }

    [Test]
    public void The_processes_of_one_user_share_its_limit_and_a_process_of_another_user_has_its_own()
    {
        // pages.c incr_user_locked_vm(): pages->source_user->locked_vm against the pinning task's RLIMIT_MEMLOCK.
        using var host = new TestHost(b => b.AddMockIommu().AddDevice("dev0", "mock0", streamId: 0x10)
            .AddDevice("dev1", "mock0", streamId: 0x11).AddDevice("dev2", "mock0", streamId: 0x12));
        var first = Vmm(host.Host, host.Host.CreateProcess(), "dev0");
        var second = Vmm(host.Host, host.Host.CreateProcess(), "dev1");
        var other = Vmm(host.Host, host.Host.CreateProcess(new UserAccount()), "dev2");

        var rcFirst = first.Map(2);
        var rcSecond = second.Map(2);
        var rcOther = other.Map(2);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rcFirst, Is.EqualTo(Errno.Success));
            Assert.That(rcSecond, Is.EqualTo(Errno.ENOMEM), "2 + 2 pages of one user are past a limit of 3");
            Assert.That(rcOther, Is.EqualTo(Errno.Success), "another user counts from 0");
            Assert.That(host.Host.User.LockedPages, Is.EqualTo(2));
        }

        first.File.Dispose();
        second.File.Dispose();
        other.File.Dispose();
        Assert.That(host.Host.User.LockedPages, Is.Zero, "closing the files unpins and gives the pages back");
    }

    [Test]
    public void Rlimit_mode_1_charges_the_process_instead_of_the_user()
    {
        // ioas.c iommufd_option_rlimit_mode(); io_pagetable.c iopt_map_common() makes the pages IOPT_PAGES_ACCOUNT_MM;
        // pages.c update_mm_locked_vm() -> __account_locked_vm() against RLIMIT_MEMLOCK.
        using var host = new TestHost(b => b.AddMockIommu().AddDevice("dev0", "mock0", streamId: 0x10));
        var process = host.Host.CreateProcess();
        process.MemlockLimit = 2 * Page;
        using var file = host.Host.Open(process);
        ulong one = 1, mode = 0;
        MockFixture.Expect(file.Option(IommuOptionId.RlimitMode, IommuOptionOp.Set, 0, ref one), "RLIMIT_MODE SET 1");
        MockFixture.Expect(file.Option(IommuOptionId.RlimitMode, IommuOptionOp.Get, 0, ref mode), "RLIMIT_MODE GET");
        var vmm = Vmm(host.Host, process, "dev0", file);

        var over = vmm.Map(3);
        var within = vmm.Map(2);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(mode, Is.EqualTo(1UL));
            Assert.That(over, Is.EqualTo(Errno.ENOMEM), "__account_locked_vm(): past the limit");
            Assert.That(within, Is.EqualTo(Errno.Success));
            Assert.That(process.LockedPages, Is.EqualTo(2), "mm->locked_vm");
            Assert.That(process.User.LockedPages, Is.Zero, "not the user's");
        }
    }

    [Test]
    public void A_process_with_CAP_IPC_LOCK_is_not_charged_and_not_limited()
    {
        // pages.c iopt_alloc_pages(): capable(CAP_IPC_LOCK) makes the pages IOPT_PAGES_ACCOUNT_NONE;
        // iopt_pages_update_pinned() still counts mm->pinned_vm.
        using var fx = new MockFixture();
        fx.Process.MemlockLimit = 0;
        fx.Process.CapIpcLock = true;
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");

        var rc = fx.MapAt(fx.IoasId, fx.GuestRam.Address, 4 * Page, Aperture);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(fx.Process.User.LockedPages, Is.Zero);
            Assert.That(fx.Process.PinnedPages, Is.EqualTo(4));
        }
    }

    /// <summary>A file of <paramref name="process"/> with <paramref name="device"/> attached to an IOAS and 4 pages of RAM.</summary>
    private static Rig Vmm(IommufdHost host, UserMemory process, string device, IommufdFile? file = null)
    {
        file ??= host.Open(process);
        if (file.Memory.MemlockLimit == ulong.MaxValue)
        {
            process.MemlockLimit = 3 * Page;
        }

        MockFixture.Expect(file.BindDevice(host.Platform.GetDevice(device), out uint devId), "bind");
        var alloc = new IommuIoasAlloc();
        MockFixture.Expect(file.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc), "IOAS_ALLOC");
        uint pt = alloc.OutIoasId;
        MockFixture.Expect(file.AttachDevice(devId, ref pt), "attach");
        return new Rig(file, alloc.OutIoasId, process.Map(4 * (long)Page));
    }

    private sealed record Rig(IommufdFile File, uint IoasId, UserRegion Ram)
    {
        private ulong _next = Aperture;

        /// <summary>IOMMU_IOAS_MAP of the first <paramref name="pages"/> pages of the RAM at the next free IOVA.</summary>
        public Errno Map(int pages)
        {
            var cmd = new IommuIoasMap
            {
                IoasId = IoasId, UserVa = Ram.Address, Length = (ulong)pages * Page, Iova = _next,
                Flags = (uint)(Rw | IommuIoasMapFlags.FixedIova),
            };
            var rc = File.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
            _next += 16 * Page;
            return rc;
        }
    }
}
