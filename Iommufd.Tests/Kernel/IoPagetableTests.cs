using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using static Iommufd.Tests.Kernel.IoasCalls;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// The IOAS as the kernel's io_pagetable, through the raw entry point on the mock: alignment, the IOVA allocator,
/// reserved and allowed ranges, unmap, copy and the IOAS options. Each test names the kernel function it derives
/// from (drivers/iommu/iommufd/io_pagetable.c, ioas.c) and, where one exists, the selftest case
/// (tools/testing/selftests/iommu/iommufd.c).
/// </summary>
public class IoPagetableTests
{
    private const ulong Page = MockFixture.PageSize;
    private const ulong MockPage = MockPagingDomain.IoPageSize;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    [Test]
    public void The_alignment_is_1_without_a_domain_and_the_mock_page_with_one_and_ranges_follow_the_aperture()
    {
        // io_pagetable.c iopt_init_table() (alignment 1), iopt_table_add_domain() (the domain's smallest page; the
        // space outside its aperture reserved), iopt_table_remove_domain(); selftest iommufd_ioas.iova_ranges.
        using var fx = new MockFixture();
        var before = fx.IovaRanges(fx.IoasId, 4);
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        var attached = fx.IovaRanges(fx.IoasId, 4);
        MockFixture.Expect(fx.Detach(), "detach");
        var after = fx.IovaRanges(fx.IoasId, 4);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((before.Rc, before.NumIovas, before.Alignment), Is.EqualTo((Errno.Success, 1u, 1ul)));
            Assert.That((before.Ranges[0].Start, before.Ranges[0].Last), Is.EqualTo((0ul, ulong.MaxValue)));
            Assert.That((attached.Rc, attached.NumIovas, attached.Alignment), Is.EqualTo((Errno.Success, 1u, MockPage)));
            Assert.That((attached.Ranges[0].Start, attached.Ranges[0].Last), Is.EqualTo((SelftestConstants.MockApertureStart, SelftestConstants.MockApertureLast)));
            Assert.That((after.NumIovas, after.Alignment, after.Ranges[0].Start, after.Ranges[0].Last), Is.EqualTo((1u, 1ul, 0ul, ulong.MaxValue)));
        }
    }

    [Test]
    public void Without_a_domain_any_byte_may_start_a_mapping_and_with_one_the_mock_page_must()
    {
        // io_pagetable.c iopt_alloc_area_pages() (length), iopt_check_iova() (IOVA), iopt_insert_area() (the offset
        // into the first CPU page), all against iova_alignment.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        uint bare = fx.AllocIoas();
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        ulong inside = SelftestConstants.MockApertureStart;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fx.MapAt(bare, va + 0x10, 0x100, 0x10_0010), Is.EqualTo(Errno.Success), "byte granular without a domain");
            Assert.That(fx.MapAt(fx.IoasId, va + MockPage, MockPage, inside + MockPage), Is.EqualTo(Errno.Success), "half a page on the mock");
            Assert.That(fx.MapAt(fx.IoasId, va, MockPage, inside + 0x400), Is.EqualTo(Errno.EINVAL), "IOVA off the mock page");
            Assert.That(fx.MapAt(fx.IoasId, va, 0x400, inside + 0x10_0000), Is.EqualTo(Errno.EINVAL), "length off the mock page");
            Assert.That(fx.MapAt(fx.IoasId, va + 0x400, MockPage, inside + 0x20_0000), Is.EqualTo(Errno.EINVAL), "page offset off the mock page");
            Assert.That(fx.MapAt(fx.IoasId, va, Page, 0x1000), Is.EqualTo(Errno.EINVAL), "below the aperture: reserved");
        }
    }

    [Test]
    public void A_writeable_map_of_read_only_memory_is_EFAULT_when_its_pages_are_pinned()
    {
        // pages.c pfn_reader_user_pin(): writable pages are pinned with FOLL_WRITE, which a read-only mapping refuses
        // (EFAULT) — at map time with a domain attached, else when the domain arrives (io_pagetable.c
        // iopt_table_add_domain() → iopt_fill_domain()); READABLE alone pins it fine.
        using var fx = new MockFixture();
        var readOnly = fx.Process.Map(2 * (long)Page, readOnly: true);
        uint lazy = fx.AllocIoas();
        var lazyMap = fx.MapAt(lazy, readOnly.Address, Page, Aperture);
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        var writeable = fx.MapAt(fx.IoasId, readOnly.Address, Page, Aperture);
        var readable = fx.MapAt(fx.IoasId, readOnly.Address, Page, Aperture, IommuIoasMapFlags.Readable);
        MockFixture.Expect(fx.Detach(), "detach");
        var attachLazy = fx.Attach(lazy);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(lazyMap, Is.EqualTo(Errno.Success), "no domain: nothing is pinned yet");
            Assert.That(writeable, Is.EqualTo(Errno.EFAULT));
            Assert.That(readable, Is.EqualTo(Errno.Success));
            Assert.That(attachLazy, Is.EqualTo(Errno.EFAULT), "the domain's fill pins for writing");
            Assert.That(fx.IovaRanges(lazy, 1).Alignment, Is.EqualTo(1ul), "the refused domain left the IOAS as it was");
        }
    }

    [Test]
    public void A_domain_that_an_area_does_not_fit_is_refused_and_changes_nothing()
    {
        // io_pagetable.c iopt_table_add_domain(): iopt_check_iova_alignment() (EADDRINUSE for an area off the new
        // alignment) and iopt_reserve_iova() (EADDRINUSE for an area outside the aperture); nothing stays reserved.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        ulong inside = SelftestConstants.MockApertureStart;
        MockFixture.Expect(fx.MapAt(fx.IoasId, va + 0x10, 0x100, inside + 0x10), "unaligned map");
        var misaligned = fx.Attach(fx.IoasId);
        MockFixture.Expect(fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out _), "unmap all");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x1000), "map below the aperture");
        var outside = fx.Attach(fx.IoasId);
        var ranges = fx.IovaRanges(fx.IoasId, 4);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(misaligned, Is.EqualTo(Errno.EADDRINUSE));
            Assert.That(outside, Is.EqualTo(Errno.EADDRINUSE));
            Assert.That((ranges.NumIovas, ranges.Alignment, ranges.Ranges[0].Start), Is.EqualTo((1u, 1ul, 0ul)), "no reservation left behind");
        }
    }

    [Test]
    public void Without_a_domain_the_pages_are_a_lazy_reference_and_the_domain_that_needs_them_fails_with_EFAULT()
    {
        // pages.c (pages are pinned when a domain is filled, io_pagetable.c iopt_fill_domain()): a map of memory the
        // process does not have succeeds with no domain; the attach that needs the pages is EFAULT and leaves no
        // domain; once the bad area is gone the attach works, and pins what the areas left cover.
        using var fx = new MockFixture();
        var region = fx.Process.Map(2 * (long)Page);
        MockFixture.Expect(fx.MapAt(fx.IoasId, region.Address, 2 * Page, Aperture), "map");
        MockFixture.Expect(fx.MapAt(fx.IoasId, 0x10_0000, Page, Aperture + 0x10_0000), "map of memory the process lacks");
        bool pinnedBefore = region.IsPinned;
        var attach = fx.Attach(fx.IoasId);
        var ranges = fx.IovaRanges(fx.IoasId, 1);
        MockFixture.Expect(fx.UnmapRange(fx.IoasId, Aperture + 0x10_0000, Page, out _), "unmap the bad area");
        fx.Process.Unmap(region);
        var afterMunmap = fx.Attach(fx.IoasId);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(pinnedBefore, Is.False, "nothing pinned without a domain");
            Assert.That(attach, Is.EqualTo(Errno.EFAULT));
            Assert.That(ranges.Alignment, Is.EqualTo(1ul), "the refused domain left nothing");
            Assert.That(region.IsPinned, Is.False, "the good area's pin was undone with the domain");
            Assert.That(afterMunmap, Is.EqualTo(Errno.EFAULT), "the user unmapped the memory before a domain needed it");
        }
    }

    [Test]
    public void The_allocator_starts_at_a_page_aligns_to_the_length_and_keeps_the_page_offset()
    {
        // io_pagetable.c iopt_alloc_iova(): the alignment is roundup_pow_of_two(length), lowered to the user address's
        // alignment, capped at HPAGE_SIZE; IOVA 0 is never returned; the page offset of the user address is kept.
        // Selftest iommufd_ioas.area_auto_iova ("Kernel automatically aligns IOVAs properly").
        using var fx = new MockFixture();
        var region = fx.Process.Map(8L << 20);
        ulong huge = (region.Address + IoasObjectHugePage - 1) & ~(IoasObjectHugePage - 1);
        var firsts = new List<ulong>();
        var seconds = new List<ulong>();
        MockFixture.Expect(fx.MapAuto(fx.IoasId, huge, Page, out ulong first), "first map");
        for (ulong pages = 1; pages <= 10; pages++)
        {
            uint ioas = fx.AllocIoas();
            MockFixture.Expect(fx.MapAuto(ioas, huge, pages * Page, out ulong iova), "map");
            MockFixture.Expect(fx.MapAuto(ioas, huge, pages * Page, out ulong second), "second map");
            firsts.Add(iova);
            seconds.Add(second);
        }

        MockFixture.Expect(fx.MapAuto(fx.AllocIoas(), huge + 0x10, 0x100, out ulong offset), "unaligned map");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo(Page), "the first IOVA is PAGE_SIZE");
            for (int i = 0; i < firsts.Count; i++)
            {
                // A fresh IOAS: the first hole starts at PAGE_SIZE, aligned up; the second map starts after the first.
                ulong alignment = System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)(i + 1) * Page);
                Assert.That(firsts[i], Is.EqualTo(alignment), $"{i + 1} pages");
                Assert.That(seconds[i], Is.EqualTo(2 * alignment), $"{i + 1} pages, second");
            }

            Assert.That(offset, Is.EqualTo(Page + 0x10), "page offset kept, first hole");
        }
    }

    [Test]
    public void The_allocator_searches_the_allowed_ranges_from_the_second_page_and_is_ENOSPC_when_nothing_fits()
    {
        // io_pagetable.c iopt_alloc_iova(): allowed spans inside [PAGE_SIZE, ULONG_MAX - PAGE_SIZE]; selftest
        // iommufd_ioas.area_allowed.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        MockFixture.Expect(fx.AllowIovas(fx.IoasId, Range(0, 0x7FFF)), "allow");
        var one = fx.MapAuto(fx.IoasId, va, Page, out ulong iova);
        var eight = fx.MapAuto(fx.IoasId, va, 8 * Page, out _);
        var fixedOutside = fx.MapAt(fx.IoasId, va, Page, 0x100_0000);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((one, iova), Is.EqualTo((Errno.Success, Page)));
            Assert.That(eight, Is.EqualTo(Errno.ENOSPC));
            Assert.That(fixedOutside, Is.EqualTo(Errno.Success), "iopt_check_iova() does not consult the allowed ranges");
        }
    }

    [Test]
    public void Allow_iovas_loads_in_order_and_refuses_what_meets_a_reservation()
    {
        // ioas.c iommufd_ioas_allow_iovas() / iommufd_ioas_load_iovas() (the IOAS first; start >= last and overlaps
        // are EINVAL), io_pagetable.c iopt_set_allow_iova() and iopt_reserve_iova() (EADDRINUSE both ways).
        using var fx = new MockFixture();
        var badIoasBadPointer = new IommuIoasAllowIovas { IoasId = 99, NumIovas = 1, AllowedIovas = 0x10 };
        var badPointer = badIoasBadPointer with { IoasId = fx.IoasId };
        uint other = fx.AllocIoas();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_IOAS_ALLOW_IOVAS, ref badIoasBadPointer), Is.EqualTo(Errno.ENOENT));
            Assert.That(fx.Raw(IommufdIoctl.IOMMU_IOAS_ALLOW_IOVAS, ref badPointer), Is.EqualTo(Errno.EFAULT));
            Assert.That(fx.AllowIovas(fx.IoasId, Range(0x1000, 0x1000)), Is.EqualTo(Errno.EINVAL), "start == last");
            Assert.That(fx.AllowIovas(fx.IoasId, Range(0x1000, 0x2FFF), Range(0x2000, 0x3FFF)), Is.EqualTo(Errno.EINVAL), "overlap");
            Assert.That(fx.AllowIovas(other, Range(0x1000, 0x1FFF_FFFF)), Is.EqualTo(Errno.Success));
            Assert.That(fx.Attach(other), Is.EqualTo(Errno.EADDRINUSE), "the aperture's reservation meets an allowed range");
            Assert.That(fx.AllowIovas(other), Is.EqualTo(Errno.Success), "an empty list clears");
            Assert.That(fx.Attach(other), Is.EqualTo(Errno.Success));
            Assert.That(fx.AllowIovas(other, Range(0x1000, 0x1FFF_FFFF)), Is.EqualTo(Errno.EADDRINUSE), "an allowed range meets the reservation");
            Assert.That(fx.AllowIovas(other, Range(SelftestConstants.MockApertureStart, SelftestConstants.MockApertureLast)), Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void Unmap_takes_areas_lowest_first_and_stops_at_one_the_range_cuts()
    {
        // io_pagetable.c iopt_unmap_iova_range(): each area found must lie inside the range; the ones before the first
        // that does not are already unmapped when ENOENT comes back. ioas.c iommufd_ioas_unmap(): nothing unmapped in
        // a range is ENOENT, the all-of-it form succeeds. Selftest iommufd_ioas.unmap_fully_contained_areas.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x10000), "A");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, 2 * Page, 0x20000), "B");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x40000), "C");

        var cut = fx.UnmapRange(fx.IoasId, 0x10000, 0x10000 + Page, out ulong cutLength);
        var aGone = fx.MapAt(fx.IoasId, va, Page, 0x10000);
        var bKept = fx.MapAt(fx.IoasId, va, Page, 0x20000);
        var contained = fx.UnmapRange(fx.IoasId, 0x18000, 0x20000, out ulong containedLength);
        var empty = fx.UnmapRange(fx.IoasId, 0x60000, Page, out _);
        var all = fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out ulong allLength);
        var allAgain = fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out ulong againLength);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(cut, Is.EqualTo(Errno.ENOENT));
            Assert.That(cutLength, Is.EqualTo(0x10000 + Page), "length is not written back on an error");
            Assert.That(aGone, Is.EqualTo(Errno.Success), "A was unmapped before B stopped the unmap");
            Assert.That(bKept, Is.EqualTo(Errno.EEXIST), "B is intact");
            Assert.That((contained, containedLength), Is.EqualTo((Errno.Success, 2 * Page)), "only B lies in [0x18000, 0x38000)");
            Assert.That(empty, Is.EqualTo(Errno.ENOENT));
            Assert.That((all, allLength), Is.EqualTo((Errno.Success, 2 * Page)), "A (again) and C");
            Assert.That((allAgain, againLength), Is.EqualTo((Errno.Success, 0ul)));
        }
    }

    [Test]
    public void Copy_takes_a_slice_of_an_area_and_keeps_the_pages_writability()
    {
        // io_pagetable.c iopt_get_pages() (slices of contiguous areas, ENOENT on a gap) and iopt_insert_area()
        // (EPERM: WRITEABLE over pages first mapped read-only); ioas.c iommufd_ioas_copy() (the source's pages before
        // the destination is looked up).
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        uint dst = fx.AllocIoas();
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, 3 * Page, 0x10000), "source");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, 0x20000, IommuIoasMapFlags.Readable), "read-only source");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fx.Copy(dst, fx.IoasId, 0x10000 + Page, Page, 0x50000), Is.EqualTo(Errno.Success), "the middle page");
            Assert.That(fx.Copy(dst, fx.IoasId, 0x10000 + 0x800, Page, 0x60800), Is.EqualTo(Errno.Success), "across two pages, byte offset kept");
            Assert.That(fx.Copy(dst, fx.IoasId, 0x12000, 0x10000, 0x70000), Is.EqualTo(Errno.ENOENT), "a gap");
            Assert.That(fx.Copy(dst, fx.IoasId, 0x20000, Page, 0x80000), Is.EqualTo(Errno.EPERM), "write over read-only pages");
            Assert.That(fx.Copy(dst, fx.IoasId, 0x20000, Page, 0x80000, IommuIoasMapFlags.Readable | IommuIoasMapFlags.FixedIova), Is.EqualTo(Errno.Success));
            Assert.That(fx.Copy(99, fx.IoasId, 0x10000, 0, 0x90000), Is.EqualTo(Errno.EINVAL), "length 0 fails in the source before the destination");
            Assert.That(fx.Copy(99, fx.IoasId, 0x10000, Page, 0x90000), Is.EqualTo(Errno.ENOENT));
            Assert.That(fx.UnmapRange(dst, 0x50000, Page, out ulong one), Is.EqualTo(Errno.Success));
            Assert.That(one, Is.EqualTo(Page));
        }

        MockFixture.Expect(fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out _), "unmap the source");
        Assert.That(fx.UnmapRange(dst, 0, ulong.MaxValue, out ulong copies), Is.EqualTo(Errno.Success), "the copies outlive the source");
        Assert.That(copies, Is.EqualTo(2 * Page), "the slices at 0x60800 and 0x80000");
    }

    [Test]
    public void Huge_pages_off_aligns_to_a_cpu_page_and_is_refused_once_a_domain_holds_mappings()
    {
        // ioas.c iommufd_ioas_option() / iommufd_ioas_option_huge_pages() (the IOAS before the op), io_pagetable.c
        // iopt_disable_large_pages() (EINVAL with a domain and areas, EADDRINUSE for an area off PAGE_SIZE),
        // iopt_calculate_iova_alignment(); selftest iommufd_ioas.ioas_option_huge_pages.
        using var fx = new MockFixture();
        ulong va = fx.GuestRam.Address;
        uint bare = fx.AllocIoas();
        ulong get = 0, set0 = 0, set2 = 2, badOp = 0, noIoas = 0, afterOff = 0;
        var rcGet = fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Get, bare, ref get);
        var rcOff = fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Set, bare, ref set0);
        fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Get, bare, ref afterOff);
        var ranges = fx.IovaRanges(bare, 1);
        var rc2 = fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Set, bare, ref set2);
        var rcOp = fx.File.Option(IommuOptionId.HugePages, (IommuOptionOp)7, bare, ref badOp);
        var rcNoIoas = fx.File.Option(IommuOptionId.HugePages, (IommuOptionOp)7, 99, ref noIoas);

        uint misaligned = fx.AllocIoas();
        MockFixture.Expect(fx.MapAt(misaligned, va + 0x10, 0x100, 0x10010), "unaligned map");
        ulong off = 0;
        var rcMisaligned = fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Set, misaligned, ref off);

        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        MockFixture.Expect(fx.MapAt(fx.IoasId, va, Page, SelftestConstants.MockApertureStart), "map");
        off = 0;
        var rcBusy = fx.File.Option(IommuOptionId.HugePages, IommuOptionOp.Set, fx.IoasId, ref off);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rcGet, get), Is.EqualTo((Errno.Success, 1ul)));
            Assert.That((rcOff, afterOff), Is.EqualTo((Errno.Success, 0ul)));
            Assert.That(ranges.Alignment, Is.EqualTo(Page));
            Assert.That(rc2, Is.EqualTo(Errno.EINVAL));
            Assert.That(rcOp, Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(rcNoIoas, Is.EqualTo(Errno.ENOENT), "the IOAS is looked up before the op");
            Assert.That(rcMisaligned, Is.EqualTo(Errno.EADDRINUSE));
            Assert.That(rcBusy, Is.EqualTo(Errno.EINVAL));
        }
    }

    [Test]
    public void Rlimit_mode_is_file_wide_and_can_only_change_on_an_empty_file()
    {
        // ioas.c iommufd_option_rlimit_mode(): an object ID is EOPNOTSUPP; SET is EBUSY once any object exists;
        // values other than 0 and 1 are EINVAL; GET reads the mode back. Selftest iommufd.global_options.
        using var host = new TestHost();
        ulong get0 = 9, one = 1, two = 2, get1 = 9, withObject = 0, busy = 0, getAfter = 9;
        var rcGet0 = host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Get, 0, ref get0);
        var rcTwo = host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Set, 0, ref two);
        var rcOne = host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Set, 0, ref one);
        var rcGet1 = host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Get, 0, ref get1);
        var rcObject = host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Get, 1, ref withObject);
        var alloc = new IommuIoasAlloc();
        MockFixture.Expect(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc), "IOAS_ALLOC");
        var rcBusy = host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Set, 0, ref busy);
        host.File.Option(IommuOptionId.RlimitMode, IommuOptionOp.Get, 0, ref getAfter);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rcGet0, get0), Is.EqualTo((Errno.Success, 0ul)));
            Assert.That(rcTwo, Is.EqualTo(Errno.EINVAL));
            Assert.That(rcOne, Is.EqualTo(Errno.Success));
            Assert.That((rcGet1, get1), Is.EqualTo((Errno.Success, 1ul)));
            Assert.That(rcObject, Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(rcBusy, Is.EqualTo(Errno.EBUSY));
            Assert.That(getAfter, Is.EqualTo(1ul));
        }
    }

    private const ulong IoasObjectHugePage = 2UL << 20;
}
