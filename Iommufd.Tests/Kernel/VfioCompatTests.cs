using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Iommufd.Core.Uapi.VfioIoctl;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// The VFIO type1 container ioctls on the iommufd fd (drivers/iommu/iommufd/vfio_compat.c), through the raw address
/// entry point, as tools/testing/selftests/iommu/iommufd.c drives them (TEST_F(iommufd, simple_ioctls), unmap_cmd,
/// map_cmd, info_cmd, set_iommu_cmd and FIXTURE(vfio_compat_mock_domain) with its Ver1v2 and Ver1v0 variants).
/// </summary>
public class VfioCompatTests
{
    private const ulong Page = PhysicalMemory.PageSize;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    [Test]
    public void The_version_and_the_extensions_are_answered_without_a_compat_ioas()
    {
        // vfio_compat.c iommufd_vfio_ioctl() (VFIO_API_VERSION), iommufd_vfio_check_extension(); selftest
        // iommufd.simple_ioctls. DMA_CC_IOMMU needs the compat IOAS (iommufd_vfio_cc_iommu()).
        using var fx = new MockFixture();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Call(fx, VFIO_GET_API_VERSION, 0), Is.EqualTo((Errno.Success, VFIO_API_VERSION)));
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), Is.EqualTo((Errno.Success, 1)));
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), Is.EqualTo((Errno.Success, 1)));
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), Is.EqualTo((Errno.Success, 1)));
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU), Is.EqualTo((Errno.Success, 0)));
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), Is.EqualTo((Errno.Success, 0)));
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), Is.EqualTo((Errno.Success, 0)), "no CONFIG_VFIO_NOIOMMU");
            Assert.That(Call(fx, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU).Rc, Is.EqualTo(Errno.ENODEV));
            Assert.That(Call(fx, VFIO_IOMMU_DIRTY_PAGES, 0).Rc, Is.EqualTo(Errno.ENOTTY), "not provided by iommufd");
            Assert.That(Call(fx, VFIO_GET_API_VERSION | (1u << 30), 0).Rc, Is.EqualTo(Errno.ENOTTY), "the number must match exactly");
        }
    }

    [Test]
    public void Without_a_compat_ioas_argsz_and_flags_are_checked_first_and_then_it_is_ENODEV()
    {
        // vfio_compat.c iommufd_vfio_map_dma(), _unmap_dma(), _iommu_get_info(), _set_iommu(): the struct and its
        // argsz and flags before get_compat_ioas(); selftest iommufd.unmap_cmd, map_cmd, info_cmd, set_iommu_cmd.
        using var fx = new MockFixture();
        var map = new VfioIommuType1DmaMap { Argsz = 1, Iova = Aperture, Size = Page, Vaddr = fx.GuestRam.Address };
        var unmap = new VfioIommuType1DmaUnmap { Argsz = 1, Iova = Aperture, Size = Page };
        var info = new VfioIommuType1Info { Argsz = 1 };
        var results = new List<Errno>
        {
            Struct(fx, VFIO_IOMMU_MAP_DMA, map),
            Struct(fx, VFIO_IOMMU_MAP_DMA, map with { Argsz = 32, Flags = 1u << 31 }),
            Struct(fx, VFIO_IOMMU_MAP_DMA, map with { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_VADDR }),
            Struct(fx, VFIO_IOMMU_MAP_DMA, map with { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE }),
            Struct(fx, VFIO_IOMMU_UNMAP_DMA, unmap),
            Struct(fx, VFIO_IOMMU_UNMAP_DMA, unmap with { Argsz = 24, Flags = 1u << 31 }),
            Struct(fx, VFIO_IOMMU_UNMAP_DMA, unmap with { Argsz = 24, Flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP }),
            Struct(fx, VFIO_IOMMU_UNMAP_DMA, unmap with { Argsz = 24 }),
            Struct(fx, VFIO_IOMMU_GET_INFO, info),
            Struct(fx, VFIO_IOMMU_GET_INFO, info with { Argsz = 24 }),
            Call(fx, VFIO_SET_IOMMU, 2).Rc, // VFIO_SPAPR_TCE_IOMMU
            Call(fx, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU).Rc,
            Call(fx, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU).Rc,
            Call(fx, VFIO_IOMMU_MAP_DMA, 0x10).Rc, // an argument outside user memory
        };

        Assert.That(results, Is.EqualTo(new[]
        {
            Errno.EINVAL, Errno.EINVAL, Errno.EINVAL, Errno.ENODEV,
            Errno.EINVAL, Errno.EINVAL, Errno.EINVAL, Errno.ENODEV,
            Errno.EINVAL, Errno.ENODEV,
            Errno.EINVAL, Errno.ENODEV, Errno.ENODEV,
            Errno.EFAULT,
        }));
    }

    [TestCase(VFIO_TYPE1v2_IOMMU, 1ul)]
    [TestCase(VFIO_TYPE1_IOMMU, 0ul)]
    public void Set_iommu_type1_turns_huge_pages_off(ulong version, ulong hugePages)
    {
        // vfio_compat.c iommufd_vfio_set_iommu() → io_pagetable.c iopt_disable_large_pages(); selftest
        // vfio_compat_mock_domain.option_huge_pages.
        using var fx = Compat(version);
        var option = new IommuOption { OptionId = (uint)IommuOptionId.HugePages, Op = (ushort)IommuOptionOp.Get, Val64 = 3, ObjectId = fx.IoasId };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_OPTION, ref option), "OPTION GET");
        Assert.That(option.Val64, Is.EqualTo(hugePages));
    }

    [TestCase(VFIO_TYPE1v2_IOMMU)]
    [TestCase(VFIO_TYPE1_IOMMU)]
    public void Get_info_reports_page_sizes_and_a_chain_that_never_writes_past_argsz(ulong version)
    {
        // vfio_compat.c iommufd_vfio_iommu_get_info(), iommufd_get_pagesizes() (the mock's 2 KiB page folds into a
        // CPU page), iommufd_fill_cap_dma_avail(), iommufd_fill_cap_iova(); selftest vfio_compat_mock_domain.get_info
        // with its ioctl_check_buf() (the bytes beyond argsz stay 0xAA).
        using var fx = Compat(version);
        var (rc, pre, _) = GetInfo(fx, 16);
        var (rcSize, sized, _) = GetInfo(fx, 24);
        uint full = sized.Argsz;
        var (rcFull, all, chain) = GetInfo(fx, full);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rc, pre.Flags, pre.IovaPgsizes), Is.EqualTo((Errno.Success, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, Page)));
            Assert.That((rcSize, sized.CapOffset, full), Is.EqualTo((Errno.Success, 0u, 24u + 16 + 32)), "DMA_AVAIL 12 → 16, IOVA_RANGE 16 + one range");
            Assert.That((rcFull, all.CapOffset, all.Argsz), Is.EqualTo((Errno.Success, 24u, full)));
            var dma = MemoryMarshal.Read<VfioIommuType1InfoDmaAvail>(chain.AsSpan(24));
            Assert.That((dma.Header.Id, dma.Header.Version, dma.Header.Next, dma.Avail), Is.EqualTo((VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, (ushort)1, 40u, uint.MaxValue)));
            var iova = MemoryMarshal.Read<VfioIommuType1InfoCapIovaRange>(chain.AsSpan(40));
            var range = MemoryMarshal.Read<VfioIovaRange>(chain.AsSpan(56));
            Assert.That((iova.Header.Id, iova.Header.Version, iova.Header.Next, iova.NrIovas), Is.EqualTo((VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, (ushort)1, 0u, 1u)));
            Assert.That((range.Start, range.End), Is.EqualTo((SelftestConstants.MockApertureStart, SelftestConstants.MockApertureLast)));
            for (uint argsz = 24; argsz < full; argsz++)
            {
                var (each, partial, _) = GetInfo(fx, argsz); // GetInfo checks that nothing past argsz was written
                Assert.That((each, partial.Argsz, partial.CapOffset), Is.EqualTo((Errno.Success, full, 0u)), $"argsz {argsz}");
            }
        }
    }

    [TestCase(VFIO_TYPE1v2_IOMMU)]
    [TestCase(VFIO_TYPE1_IOMMU)]
    public void Map_unmap_and_unmap_all_follow_the_flags_rules(ulong version)
    {
        // vfio_compat.c iommufd_vfio_map_dma(), iommufd_vfio_unmap_dma(), io_pagetable.c iopt_unmap_iova() and
        // iopt_unmap_all(); selftest vfio_compat_mock_domain.map.
        using var fx = Compat(version);
        ulong length = fx.GuestRam.Length;
        var map = new VfioIommuType1DmaMap { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, Vaddr = fx.GuestRam.Address, Size = length, Iova = Aperture };
        var simple = Unmap(fx, Aperture, length);
        MockFixture.Expect(Struct(fx, VFIO_IOMMU_MAP_DMA, map), "MAP_DMA");
        var again = Struct(fx, VFIO_IOMMU_MAP_DMA, map);
        var allWithRange = Unmap(fx, Aperture, length, VFIO_DMA_UNMAP_FLAG_ALL);
        var all = Unmap(fx, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
        var allEmpty = Unmap(fx, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL);
        var nothing = Unmap(fx, Aperture, Page);
        var sizeZero = Unmap(fx, Aperture, 0);
        var wraps = Unmap(fx, ulong.MaxValue, 2);
        var lastByte = Unmap(fx, ulong.MaxValue, 1);
        var pages = new List<Errno>();
        for (ulong i = 0; i < length / Page; i++)
        {
            pages.Add(Struct(fx, VFIO_IOMMU_MAP_DMA, map with { Iova = Aperture + (i * Page), Vaddr = fx.GuestRam.Address + (i * Page), Size = Page }));
        }

        var order = Shuffled((int)(length / Page), seed: 10);
        var unmapped = order.Select(i => Unmap(fx, Aperture + ((ulong)i * Page), Page)).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(simple, Is.EqualTo((Errno.ENOENT, 0ul)), "nothing mapped yet");
            Assert.That(again, Is.EqualTo(Errno.EEXIST));
            Assert.That(allWithRange, Is.EqualTo((Errno.EINVAL, length)), "refused before the unmap: size is not written back");
            Assert.That(all, Is.EqualTo((Errno.Success, length)));
            Assert.That(allEmpty, Is.EqualTo((Errno.Success, 0ul)));
            Assert.That(nothing, Is.EqualTo((Errno.ENOENT, 0ul)), "the bytes unmapped go back on an unmap error too");
            Assert.That(sizeZero.Rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(wraps.Rc, Is.EqualTo(Errno.EOVERFLOW));
            Assert.That(lastByte.Rc, Is.EqualTo(Errno.ENOENT), "no U64_MAX rule as IOMMU_IOAS_UNMAP has");
            Assert.That(pages, Is.All.EqualTo(Errno.Success));
            Assert.That(unmapped, Is.All.EqualTo((Errno.Success, Page)), $"shuffled with seed 10: {string.Join(",", order)}");
            Assert.That(fx.File.ObjectCount, Is.GreaterThan(0));
        }
    }

    [TestCase(VFIO_TYPE1v2_IOMMU, Errno.ENOENT)]
    [TestCase(VFIO_TYPE1_IOMMU, Errno.Success)]
    public void Type1_can_unmap_inside_a_mapping_and_type1v2_cannot(ulong version, Errno expected)
    {
        // vfio_compat.c iommufd_vfio_unmap_dma(): with huge pages off the range's ends are cut first
        // (io_pagetable.c iopt_cut_iova(), iopt_area_split()); selftest vfio_compat_mock_domain.huge_map.
        using var fx = Compat(version);
        ulong length = fx.GuestRam.Length;
        var map = new VfioIommuType1DmaMap { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, Vaddr = fx.GuestRam.Address, Size = length, Iova = Aperture };
        MockFixture.Expect(Struct(fx, VFIO_IOMMU_MAP_DMA, map), "MAP_DMA");
        var order = Shuffled(16, seed: 11);
        var results = order.Select(i => Unmap(fx, Aperture + ((ulong)i * (length / 16)), length / 16).Rc).ToList();
        Assert.That(results, Is.All.EqualTo(expected), $"shuffled with seed 11: {string.Join(",", order)}");
    }

    [Test]
    public void A_cut_off_the_iova_alignment_is_EINVAL_and_leaves_the_mapping_whole()
    {
        // io_pagetable.c iopt_area_split(): the new area's start must follow iova_alignment (a CPU page once huge
        // pages are off); the unmap never starts.
        using var fx = Compat(VFIO_TYPE1_IOMMU);
        var map = new VfioIommuType1DmaMap { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_READ, Vaddr = fx.GuestRam.Address, Size = 4 * Page, Iova = Aperture };
        MockFixture.Expect(Struct(fx, VFIO_IOMMU_MAP_DMA, map), "MAP_DMA");
        var cut = Unmap(fx, Aperture + 0x800, Page);
        var whole = Unmap(fx, Aperture, 4 * Page);
        Assert.Multiple(() =>
        {
            Assert.That(cut.Rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(whole, Is.EqualTo((Errno.Success, 4 * Page)));
        });
    }

    [Test]
    public void A_cut_of_a_mapping_an_access_pins_is_EINVAL_until_the_access_lets_go()
    {
        // io_pagetable.c iopt_area_split(): no split while the area has num_accesses (the access's pin cannot be
        // split); the unmap never starts.
        using var fx = Compat(VFIO_TYPE1_IOMMU);
        var map = new VfioIommuType1DmaMap { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, Vaddr = fx.GuestRam.Address, Size = 4 * Page, Iova = Aperture };
        MockFixture.Expect(Struct(fx, VFIO_IOMMU_MAP_DMA, map), "MAP_DMA");
        int fd = TestCmdTests.CreateAccess(fx, fx.IoasId, needsPinPages: true);
        MockFixture.Expect(TestCmdTests.AccessPages(fx, fd, Aperture, Page, 0, write: false, out uint id), "pin page 0");
        var pinned = Unmap(fx, Aperture + 2 * Page, Page);
        MockFixture.Expect(TestCmdTests.DestroyAccessPages(fx, fd, id), "unpin");
        var free = Unmap(fx, Aperture + 2 * Page, Page);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(pinned.Rc, Is.EqualTo(Errno.EINVAL));
            Assert.That(free, Is.EqualTo((Errno.Success, Page)));
        }
    }

    [Test]
    public void Dma_cc_iommu_is_1_only_while_the_compat_ioas_has_no_domain()
    {
        // vfio_compat.c iommufd_vfio_cc_iommu(): 0 as soon as a paging domain does not enforce cache coherency, which
        // the mock's does not (selftest.c); with none, 1. Pins the README's "differs from upstream" entry: no domain here
        // enforces cache coherency.
        using var fx = new MockFixture();
        var set = new IommuVfioIoas { IoasId = fx.IoasId, Op = (ushort)IommuVfioIoasOp.Set };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_VFIO_IOAS, ref set), "VFIO_IOAS SET");
        var empty = Call(fx, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        var attached = Call(fx, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);
        Assert.Multiple(() =>
        {
            Assert.That(empty, Is.EqualTo((Errno.Success, 1)));
            Assert.That(attached, Is.EqualTo((Errno.Success, 0)));
        });
    }

    [Test]
    public void On_smmuv3_a_vfio_container_maps_and_unmaps_through_the_compat_ioas()
    {
        // vfio_compat.c over an SMMUv3 paging domain: iommufd_get_pagesizes() reports the domain's sizes (4 KiB and
        // up) and the mapping reaches the domain; UNMAP_ALL empties it.
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("nic", "smmu0", 0x10))
            .BuildIommufdServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var process = host.CreateProcess();
        using var file = host.Open(process);
        var ram = process.Map(4 * (long)Page);
        var args = process.Map((long)Page);
        MockFixture.Expect(file.BindDevice(host.Platform.GetDevice("nic"), out uint devId), "bind");
        MockFixture.Expect(file.IoasAlloc(out uint ioasId), "IOAS_ALLOC");
        uint ptId = ioasId;
        MockFixture.Expect(file.AttachDevice(devId, ref ptId), "attach");
        var set = new IommuVfioIoas { Size = 12, IoasId = ioasId, Op = (ushort)IommuVfioIoasOp.Set };
        MockFixture.Expect(file.Ioctl(IommufdIoctl.IOMMU_VFIO_IOAS, MemoryMarshal.AsBytes(new Span<IommuVfioIoas>(ref set))), "VFIO_IOAS SET");

        Errno At<T>(uint request, T value)
            where T : unmanaged
        {
            MemoryMarshal.Write(args.Span, in value);
            return file.Ioctl(request, args.Address, out _);
        }

        var setIommu = file.Ioctl(VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, out _);
        var mapped = At(VFIO_IOMMU_MAP_DMA, new VfioIommuType1DmaMap { Argsz = 32, Flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE, Vaddr = ram.Address, Size = ram.Length, Iova = 0x10_0000 });
        var translated = file.GetHwptDomain(ptId, out var domain) == Errno.Success && ((Iommufd.Core.Driver.IPagingDomain)domain).PageSizeBitmap != 0;
        var info = At(VFIO_IOMMU_GET_INFO, new VfioIommuType1Info { Argsz = 24 });
        var pgsizes = MemoryMarshal.Read<VfioIommuType1Info>(args.Span).IovaPgsizes;
        var all = At(VFIO_IOMMU_UNMAP_DMA, new VfioIommuType1DmaUnmap { Argsz = 24, Flags = VFIO_DMA_UNMAP_FLAG_ALL });
        var size = MemoryMarshal.Read<VfioIommuType1DmaUnmap>(args.Span).Size;

        using (Assert.EnterMultipleScope())
        {
            Assert.That((setIommu, mapped, info, all), Is.EqualTo((Errno.Success, Errno.Success, Errno.Success, Errno.Success)));
            Assert.That(translated, Is.True);
            Assert.That(pgsizes & Page, Is.EqualTo(Page), "4 KiB pages");
            Assert.That(pgsizes & (Page - 1), Is.Zero, "nothing below a CPU page");
            Assert.That(size, Is.EqualTo(ram.Length));
        }
    }

    /// <summary>The fixture of vfio_compat_mock_domain: the IOAS with a domain attached, as the compat IOAS, set to <paramref name="version"/>.</summary>
    private static MockFixture Compat(ulong version)
    {
        var fx = new MockFixture();
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach (what VFIO calls a group)");
        var set = new IommuVfioIoas { IoasId = fx.IoasId, Op = (ushort)IommuVfioIoasOp.Set };
        MockFixture.Expect(fx.Raw(IommufdIoctl.IOMMU_VFIO_IOAS, ref set), "VFIO_IOAS SET");
        MockFixture.Expect(fx.File.Ioctl(VFIO_SET_IOMMU, version, out _), "VFIO_SET_IOMMU");
        return fx;
    }

    private static (Errno Rc, int Result) Call(MockFixture fx, uint request, ulong argument)
    {
        var rc = fx.File.Ioctl(request, argument, out int result);
        return (rc, result);
    }

    private static Errno Struct<T>(MockFixture fx, uint request, T value)
        where T : unmanaged => fx.File.Ioctl(request, fx.Put(value), out _);

    private static (Errno Rc, ulong Size) Unmap(MockFixture fx, ulong iova, ulong size, uint flags = 0)
    {
        ulong at = fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Flags = flags, Iova = iova, Size = size });
        var rc = fx.File.Ioctl(VFIO_IOMMU_UNMAP_DMA, at, out _);
        return (rc, fx.Get<VfioIommuType1DmaUnmap>(at).Size);
    }

    /// <summary>GET_INFO into a 256-byte buffer filled with 0xAA past argsz; asserts nothing beyond argsz changed.</summary>
    private static (Errno Rc, VfioIommuType1Info Info, byte[] Buffer) GetInfo(MockFixture fx, uint argsz)
    {
        var buffer = Enumerable.Repeat((byte)0xAA, 256).ToArray();
        buffer.AsSpan(0, Math.Min((int)argsz, Unsafe.SizeOf<VfioIommuType1Info>())).Clear();
        MemoryMarshal.Write(buffer, argsz);
        ulong at = fx.PutBytes(buffer);
        var rc = fx.File.Ioctl(VFIO_IOMMU_GET_INFO, at, out _);
        Assert.That(fx.Process.TryGetSpan(at, 256, out var after), Is.True);
        var result = after.ToArray();
        Assert.That(result.Skip((int)argsz), Is.All.EqualTo((byte)0xAA), $"nothing written past argsz {argsz}");
        return (rc, MemoryMarshal.Read<VfioIommuType1Info>(result), result);
    }

    private static int[] Shuffled(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        return order;
    }
}
