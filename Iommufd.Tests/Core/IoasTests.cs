using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>IOAS_ALLOC, MAP, UNMAP, COPY, IOVA_RANGES and ALLOW_IOVAS through the raw ioctl entry point.</summary>
public class IoasTests
{
    private const ulong Page = PhysicalMemory.PageSize;

    private static uint AllocIoas(TestHost host)
    {
        var cmd = new IommuIoasAlloc();
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref cmd), Is.EqualTo(Errno.Success));
        return cmd.OutIoasId;
    }

    private static Errno Map(TestHost host, uint ioas, ulong va, ulong length, ref ulong iova, IommuIoasMapFlags flags = IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable)
    {
        var cmd = new IommuIoasMap { IoasId = ioas, UserVa = va, Length = length, Iova = iova, Flags = (uint)flags };
        var rc = host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);
        iova = cmd.Iova;
        return rc;
    }

    private static Errno Unmap(TestHost host, uint ioas, ulong iova, ref ulong length)
    {
        var cmd = new IommuIoasUnmap { IoasId = ioas, Iova = iova, Length = length };
        var rc = host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_UNMAP, ref cmd);
        length = cmd.Length;
        return rc;
    }

    [Test]
    public void Ids_start_at_one_and_the_lowest_free_id_is_reused()
    {
        using var host = new TestHost();
        uint a = AllocIoas(host), b = AllocIoas(host), c = AllocIoas(host);
        Assert.That(host.File.Destroy(b), Is.EqualTo(Errno.Success));
        uint d = AllocIoas(host);
        Assert.Multiple(() =>
        {
            Assert.That(new[] { a, b, c }, Is.EqualTo(new uint[] { 1, 2, 3 }));
            Assert.That(d, Is.EqualTo(2u));
            Assert.That(host.File.Destroy(99), Is.EqualTo(Errno.ENOENT));
        });
    }

    [Test]
    public void Alloc_with_flags_is_EOPNOTSUPP()
    {
        using var host = new TestHost();
        var cmd = new IommuIoasAlloc { Flags = 1 };
        Assert.Multiple(() =>
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref cmd), Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(host.File.ObjectCount, Is.Zero);
        });
    }

    [Test]
    public void Map_allocates_an_iova_and_unmap_returns_the_bytes_unmapped()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map(4 * (long)Page);
        ulong iova = 0;
        Assert.That(Map(host, ioas, region.Address, 4 * Page, ref iova), Is.EqualTo(Errno.Success));
        ulong length = 4 * Page;
        Assert.Multiple(() =>
        {
            Assert.That(iova % Page, Is.Zero);
            Assert.That(region.IsPinned, Is.False, "no domain needs the pages yet: pages.c pins lazily");
            Assert.That(Unmap(host, ioas, iova, ref length), Is.EqualTo(Errno.Success));
            Assert.That(length, Is.EqualTo(4 * Page));
            Assert.That(region.IsPinned, Is.False);
        });
    }

    [Test]
    public void Map_of_memory_outside_the_process_succeeds_until_a_domain_needs_the_pages()
    {
        // pages.c: with no domain an IOAS_MAP takes only a lazy reference; pinning (and EFAULT) comes with a domain.
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map((long)Page);
        ulong iova = 0, past = 0;
        Assert.Multiple(() =>
        {
            Assert.That(Map(host, ioas, 0x1000, Page, ref iova), Is.EqualTo(Errno.Success));
            Assert.That(Map(host, ioas, region.Address, 2 * Page, ref past), Is.EqualTo(Errno.Success), "runs past the region");
            Assert.That(region.IsPinned, Is.False);
        });
    }

    [Test]
    public void Map_checks_its_arguments()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map(2 * (long)Page);
        ulong iova = 0x10_0000;
        Assert.Multiple(() =>
        {
            Assert.That(Map(host, ioas, region.Address, 0, ref iova), Is.EqualTo(Errno.EINVAL), "length 0");
            Assert.That(Map(host, ioas, region.Address, Page, ref iova, (IommuIoasMapFlags)0x80), Is.EqualTo(Errno.EOPNOTSUPP), "unknown flag");
            Assert.That(Map(host, ioas, region.Address, Page, ref iova, IommuIoasMapFlags.FixedIova), Is.EqualTo(Errno.EINVAL), "neither readable nor writeable (ioas.c iommufd_ioas_map())");
            ulong wraps = ulong.MaxValue - Page + 1;
            Assert.That(Map(host, ioas, region.Address, 2 * Page, ref wraps, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.EOVERFLOW));
            Assert.That(Map(host, 77, region.Address, Page, ref iova), Is.EqualTo(Errno.ENOENT));
        });
        var reserved = new IommuIoasMap { IoasId = ioas, UserVa = region.Address, Length = Page, Reserved = 1 };
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_MAP, ref reserved), Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void A_fixed_iova_that_overlaps_a_mapping_is_EEXIST()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map(2 * (long)Page);
        ulong iova = 0x20_0000;
        Assert.That(Map(host, ioas, region.Address, 2 * Page, ref iova, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.Success));
        ulong overlap = 0x20_1000;
        Assert.That(Map(host, ioas, region.Address, Page, ref overlap, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.EEXIST));
    }

    [Test]
    public void Unmap_cannot_split_a_mapping_and_an_empty_range_is_ENOENT()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map(2 * (long)Page);
        ulong iova = 0x40_0000;
        Map(host, ioas, region.Address, 2 * Page, ref iova, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable);
        ulong half = Page, none = Page, zero = 0;
        Assert.Multiple(() =>
        {
            Assert.That(Unmap(host, ioas, iova, ref half), Is.EqualTo(Errno.ENOENT), "half of a mapping");
            Assert.That(Unmap(host, ioas, 0x80_0000, ref none), Is.EqualTo(Errno.ENOENT), "nothing there");
            Assert.That(Unmap(host, ioas, iova, ref zero), Is.EqualTo(Errno.EINVAL), "length 0");
            Assert.That(half, Is.EqualTo(Page), "length is not written on failure");
        });
    }

    [Test]
    public void With_2047_one_page_areas_allocation_finds_the_lowest_hole_and_overlaps_are_found_anywhere()
    {
        const int Areas = 2047;
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map(Areas * (long)Page);
        var iovas = new ulong[Areas];
        for (int i = 0; i < Areas; i++)
        {
            Assert.That(Map(host, ioas, region.Address + ((ulong)i * Page), Page, ref iovas[i]), Is.EqualTo(Errno.Success));
        }

        // Allocation is first fit from the lowest usable IOVA, so the areas lie side by side.
        Assert.That(iovas.Zip(iovas.Skip(1), (a, b) => b - a), Is.All.EqualTo(Page), "each area right after the one before");

        // Free every third area (one-page holes), the last one (2046) too.
        var freed = new SortedSet<ulong>();
        for (int i = 0; i < Areas; i += 3)
        {
            ulong length = Page;
            Assert.That(Unmap(host, ioas, iovas[i], ref length), Is.EqualTo(Errno.Success));
            freed.Add(iovas[i]);
        }

        ulong two = 0, one = 0, fixedInHole = iovas[3], fixedOnArea = iovas[1000], straddle = iovas[1998];
        ulong span = 3 * Page, half = Page;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Map(host, ioas, region.Address, 2 * Page, ref two), Is.EqualTo(Errno.Success));
            // io_pagetable.c iopt_alloc_iova() keeps the alignment of the length (rounded up to a power of two) and of
            // the user address, whichever is smaller, so the first fit after the last area is aligned to it.
            ulong alignment = Math.Min(2 * Page, region.Address & (0 - region.Address));
            Assert.That(two, Is.EqualTo((iovas[Areas - 1] + alignment - 1) & ~(alignment - 1)), "no hole holds two pages: from where the last area was, which is free to the end");
            Assert.That(Map(host, ioas, region.Address, Page, ref one), Is.EqualTo(Errno.Success));
            Assert.That(one, Is.EqualTo(freed.Min), "one page goes into the lowest hole");
            Assert.That(Map(host, ioas, region.Address, Page, ref fixedInHole, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.Success), "a fixed IOVA in a hole");
            Assert.That(Map(host, ioas, region.Address, Page, ref fixedOnArea, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.EEXIST), "a fixed IOVA on an area");
            Assert.That(Map(host, ioas, region.Address, 2 * Page, ref straddle, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.EEXIST), "a hole and the area after it");
            Assert.That(Unmap(host, ioas, iovas[1001], ref half), Is.EqualTo(Errno.Success), "one whole area");
            Assert.That(Unmap(host, ioas, iovas[1003], ref span), Is.EqualTo(Errno.Success), "areas 1003 and 1004 around the hole of 1005");
            Assert.That(span, Is.EqualTo(2 * Page), "the bytes of the two areas");
            Assert.That(Unmap(host, ioas, two, ref half), Is.EqualTo(Errno.ENOENT), "half of the two-page area");
        }
    }

    [Test]
    public void Unmap_all_removes_every_mapping_and_succeeds_on_an_empty_ioas()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var region = host.Process.Map(3 * (long)Page);
        for (ulong i = 0; i < 3; i++)
        {
            ulong iova = 0;
            Map(host, ioas, region.Address + (i * Page), Page, ref iova);
        }

        ulong all = ulong.MaxValue, again = ulong.MaxValue;
        Assert.Multiple(() =>
        {
            Assert.That(Unmap(host, ioas, 0, ref all), Is.EqualTo(Errno.Success));
            Assert.That(all, Is.EqualTo(3 * Page));
            Assert.That(Unmap(host, ioas, 0, ref again), Is.EqualTo(Errno.Success));
            Assert.That(again, Is.Zero);
        });
    }

    [Test]
    public void Allowed_ranges_steer_the_allocator_but_neither_show_in_iova_ranges_nor_bind_a_fixed_iova()
    {
        // ioas.c iommufd_ioas_iova_ranges() reports the holes of the reserved tree only; io_pagetable.c
        // iopt_alloc_iova() searches the allowed tree, iopt_check_iova() does not look at it.
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var array = host.Process.Map((long)Page);
        var allowed = MemoryMarshal.Cast<byte, IommuIovaRange>(array.Span);
        allowed[0] = new IommuIovaRange { Start = 0x1000, Last = 0xFFFF };
        allowed[1] = new IommuIovaRange { Start = 0x100000, Last = 0x1FFFFF };
        var allow = new IommuIoasAllowIovas { IoasId = ioas, NumIovas = 2, AllowedIovas = array.Address };
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOW_IOVAS, ref allow), Is.EqualTo(Errno.Success));
        allowed.Clear();

        var query = new IommuIoasIovaRanges { IoasId = ioas, NumIovas = 4, AllowedIovas = array.Address };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref query), Is.EqualTo(Errno.Success));
            Assert.That(query.NumIovas, Is.EqualTo(1u));
            Assert.That(allowed[0].Start, Is.Zero);
            Assert.That(allowed[0].Last, Is.EqualTo(ulong.MaxValue));
            Assert.That(query.OutIovaAlignment, Is.EqualTo(1ul));
        }

        var region = host.Process.Map(2 * (long)Page);
        ulong iova = 0, outside = 0x20_0000;
        Assert.Multiple(() =>
        {
            Assert.That(Map(host, ioas, region.Address, 2 * Page, ref iova), Is.EqualTo(Errno.Success));
            Assert.That(iova, Is.InRange(0x1000ul, 0xFFFFul - (2 * Page) + 1));
            Assert.That(Map(host, ioas, region.Address, Page, ref outside, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable), Is.EqualTo(Errno.Success));
        });
    }

    [Test]
    public void Iova_ranges_with_a_bad_array_pointer_is_EFAULT()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var query = new IommuIoasIovaRanges { IoasId = ioas, NumIovas = 1, AllowedIovas = 0x10 };
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref query), Is.EqualTo(Errno.EFAULT));
    }

    [Test]
    public void Copy_maps_the_same_pages_into_another_ioas()
    {
        using var host = new TestHost();
        uint src = AllocIoas(host), dst = AllocIoas(host);
        var region = host.Process.Map(2 * (long)Page);
        ulong srcIova = 0;
        Map(host, src, region.Address, 2 * Page, ref srcIova);
        var copy = new IommuIoasCopy
        {
            DstIoasId = dst, SrcIoasId = src, Length = 2 * Page, SrcIova = srcIova, DstIova = 0x9000_0000,
            Flags = (uint)(IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable),
        };
        // io_pagetable.c iopt_get_pages() takes a slice of an area: a copy of part of a mapping is fine.
        var partial = copy with { Length = Page, SrcIova = srcIova + Page, DstIova = 0xA000_0000 };
        Assert.Multiple(() =>
        {
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_COPY, ref partial), Is.EqualTo(Errno.Success), "a copy of half a mapping");
            Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_COPY, ref copy), Is.EqualTo(Errno.Success));
        });

        ulong all = ulong.MaxValue, copied = ulong.MaxValue;
        Unmap(host, src, 0, ref all);
        Assert.Multiple(() =>
        {
            Assert.That(Unmap(host, dst, 0, ref copied), Is.EqualTo(Errno.Success), "the copies outlive the source");
            Assert.That(copied, Is.EqualTo(3 * Page));
        });
    }

    [Test]
    public void Destroying_an_ioas_unpins_its_pages_and_pinned_pages_outlive_the_user_mapping()
    {
        // A domain makes the map pin the pages (pages.c); they outlive the user's munmap until the IOAS goes.
        using var host = new TestHost(b => b.AddMockIommu().AddDevice("dev0", "mock0", streamId: 0x10));
        uint ioas = AllocIoas(host);
        Assert.That(host.File.BindDevice(host.Host.Platform.GetDevice("dev0"), out uint devId), Is.EqualTo(Errno.Success));
        uint pt = ioas;
        Assert.That(host.File.AttachDevice(devId, ref pt), Is.EqualTo(Errno.Success));
        int framesBefore = host.Physical.FrameCount;
        var region = host.Process.Map(2 * (long)Page, contiguous: false);
        ulong iova = 0;
        Assert.That(Map(host, ioas, region.Address, 2 * Page, ref iova), Is.EqualTo(Errno.Success));
        host.Process.Unmap(region);
        Assert.That(host.Physical.FrameCount, Is.EqualTo(framesBefore + 2), "pinned pages stay");
        Assert.That(host.File.DetachDevice(devId), Is.EqualTo(Errno.Success));
        Assert.That(host.File.Destroy(ioas), Is.EqualTo(Errno.Success));
        Assert.That(host.Physical.FrameCount, Is.EqualTo(framesBefore), "released with the last pin");
    }

    [Test]
    public void Change_process_succeeds_without_mappings_and_is_EINVAL_with_them()
    {
        using var host = new TestHost();
        uint ioas = AllocIoas(host);
        var cmd = new IommuIoasChangeProcess();
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_CHANGE_PROCESS, ref cmd), Is.EqualTo(Errno.Success));
        var region = host.Process.Map((long)Page);
        ulong iova = 0;
        Map(host, ioas, region.Address, Page, ref iova);
        cmd = new IommuIoasChangeProcess();
        Assert.That(host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_CHANGE_PROCESS, ref cmd), Is.EqualTo(Errno.EINVAL));
    }
}
