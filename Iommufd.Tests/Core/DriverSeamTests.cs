using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace Iommufd.Tests.Core;

/// <summary>
/// The seam between the core and a driver plugin, seen from the driver's side (Moq mocks of the driver contracts):
/// the core asks for a paging domain with the caller's flags, fills it with exactly the pages the IOAS holds
/// (iopt_table_add_domain in io_pagetable.c), attaches the device to that domain, unmaps exactly the range the
/// caller unmapped, keeps the pages pinned when the driver could not complete the invalidation, and frees the
/// domain once, after the last detach (iommufd_hwpt_paging_destroy in hw_pagetable.c).
/// </summary>
[TestFixture]
public class DriverSeamTests
{
    private const ulong Page = PhysicalMemory.PageSize;
    private const ulong Iova = 0x10_0000;

    private readonly List<(ulong Iova, ulong Pa, ulong Length, IommuProtection Prot)> _maps = [];
    private readonly List<(ulong Iova, ulong Length)> _unmaps = [];
    private Mock<IIommuInstance> _iommu = null!;
    private Mock<IPagingDomain> _domain = null!;
    private TestHost _host = null!;
    private EndpointDevice _device = null!;
    private uint _devId;
    private uint _ioas;

    [SetUp]
    public void SetUp()
    {
        _maps.Clear();
        _unmaps.Clear();
        _iommu = new Mock<IIommuInstance>();
        _domain = new Mock<IPagingDomain>();
        _iommu.SetupGet(i => i.Name).Returns("moq0");
        var domain = _domain.Object;
        _iommu.Setup(i => i.AllocPagingDomain(It.IsAny<EndpointDevice>(), It.IsAny<IommuHwptAllocFlags>(), out domain)).Returns(Errno.Success);
        _iommu.Setup(i => i.Attach(It.IsAny<EndpointDevice>(), It.IsAny<IIommuDomain>())).Returns(Errno.Success);
        _domain.SetupGet(d => d.Iommu).Returns(_iommu.Object);
        _domain.SetupGet(d => d.ApertureStart).Returns(0);
        _domain.SetupGet(d => d.ApertureLast).Returns((1UL << 48) - 1);
        _domain.Setup(d => d.Map(It.IsAny<ulong>(), It.IsAny<ulong>(), It.IsAny<ulong>(), It.IsAny<IommuProtection>()))
            .Callback((ulong iova, ulong pa, ulong length, IommuProtection prot) => _maps.Add((iova, pa, length, prot)))
            .Returns(Errno.Success);
        _domain.Setup(d => d.Unmap(It.IsAny<ulong>(), It.IsAny<ulong>()))
            .Callback((ulong iova, ulong length) => _unmaps.Add((iova, length)))
            .Returns(Errno.Success);
        var driver = new Mock<IIommuDriver>();
        driver.SetupGet(d => d.Name).Returns("moq");
        driver.SetupGet(d => d.Instances).Returns([_iommu.Object]);

        _host = new TestHost(b => b.AddDevice("dev0", "moq0", 0x10).Services.AddSingleton(driver.Object));
        _device = _host.Host.Platform.GetDevice("dev0");
        Assert.That(_host.File.BindDevice(_device, out _devId), Is.EqualTo(Errno.Success));
        Assert.That(_host.File.IoasAlloc(out _ioas), Is.EqualTo(Errno.Success));
    }

    [TearDown]
    public void TearDown() => _host.Dispose();

    [Test]
    public void A_new_domain_gets_the_callers_flags_and_exactly_the_pages_the_IOAS_holds_and_the_device_is_attached_to_it()
    {
        var region = _host.Process.Map((long)(4 * Page), contiguous: false);
        ulong iova = Iova;
        Assert.That(_host.File.IoasMap(_ioas, region.Address, region.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable, ref iova), Is.EqualTo(Errno.Success));

        uint pt = _ioas;
        Assert.That(_host.File.AttachDevice(_devId, ref pt), Is.EqualTo(Errno.Success));

        using (Assert.EnterMultipleScope())
        {
            _iommu.Verify(i => i.ProbeDevice(_device), Times.Once());
            _iommu.Verify(i => i.AllocPagingDomain(_device, IommuHwptAllocFlags.None, out It.Ref<IPagingDomain>.IsAny), Times.Once());
            _iommu.Verify(i => i.Attach(_device, _domain.Object), Times.Once());
            Assert.That(_maps.Sum(m => (long)m.Length), Is.EqualTo((long)region.Length), "every page once");
            Assert.That(_maps.All(m => m.Prot == IommuProtection.Read), Is.True, "READABLE only: no write permission");
            foreach (var (mapIova, pa, length, _) in _maps)
            {
                for (ulong off = 0; off < length; off += Page)
                {
                    Assert.That(pa + off, Is.EqualTo(region.PhysicalAddressAt(mapIova + off - Iova)), $"iova 0x{mapIova + off:x}");
                }
            }
        }
    }

    [Test]
    public void Unmap_asks_the_driver_for_exactly_the_unmapped_range()
    {
        var region = AttachAndMap(2);
        ulong length = region.Length;
        Assert.That(_host.File.IoasUnmap(_ioas, Iova, ref length), Is.EqualTo(Errno.Success));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(length, Is.EqualTo(region.Length));
            Assert.That(_unmaps, Is.EqualTo(new[] { (Iova, region.Length) }));
            Assert.That(region.IsPinned, Is.False, "the pages are released once the driver invalidated");
        }
    }

    [Test]
    public void An_invalidation_the_driver_cannot_complete_fails_the_unmap_and_keeps_the_pages_pinned()
    {
        var region = AttachAndMap(2);
        _domain.Setup(d => d.Unmap(It.IsAny<ulong>(), It.IsAny<ulong>())).Returns(Errno.ETIMEDOUT);
        ulong length = region.Length;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(_host.File.IoasUnmap(_ioas, Iova, ref length), Is.EqualTo(Errno.ETIMEDOUT));
            Assert.That(region.IsPinned, Is.True, "a device may still reach these pages");
        }
    }

    [Test]
    public void The_domain_is_freed_once_after_the_last_detach_and_not_before()
    {
        AttachAndMap(1);
        uint hwpt = AttachedHwpt();
        Assert.That(_host.File.Destroy(hwpt), Is.EqualTo(Errno.EBUSY), "a device is attached");
        _domain.Verify(d => d.Free(), Times.Never());

        Assert.That(_host.File.DetachDevice(_devId), Is.EqualTo(Errno.Success));

        using (Assert.EnterMultipleScope())
        {
            _iommu.Verify(i => i.Detach(_device), Times.Once());
            _domain.Verify(d => d.Free(), Times.Once(), "the auto domain goes with its last device");
        }
    }

    [Test]
    public void A_pasid_attach_without_set_dev_pasid_is_EOPNOTSUPP_before_max_pasids_and_a_device_without_pasids_is_not_validated()
    {
        // iommu.c iommu_attach_device_pasid(): no set_dev_pasid is EOPNOTSUPP before the domain's owner and the PASID
        // against max_pasids (EINVAL); a device whose max_pasids is 0 is skipped by that check and by
        // __iommu_set_group_pasid() / __iommu_remove_group_pasid(), so its attach succeeds without the driver.
        _iommu.Setup(i => i.MaxPasids(_device)).Returns(1u << 8);
        Assert.That(_host.File.HwptAlloc(_devId, _ioas, IommuHwptAllocFlags.AllocPasid, IommuHwptDataType.None, default, 0, out uint hwpt), Is.EqualTo(Errno.Success));
        uint pt = hwpt;
        var noSetDevPasid = _host.File.AttachDevicePasid(_devId, 1u << 8, ref pt);
        _iommu.SetupGet(i => i.SupportsPasid).Returns(true);
        _iommu.Setup(i => i.AttachPasid(_device, It.IsAny<uint>(), _domain.Object, null)).Returns(Errno.Success);
        var tooWide = _host.File.AttachDevicePasid(_devId, 1u << 8, ref pt);
        var inRange = _host.File.AttachDevicePasid(_devId, 7, ref pt);
        _iommu.Setup(i => i.MaxPasids(_device)).Returns(0u);
        var noPasids = _host.File.AttachDevicePasid(_devId, 1u << 9, ref pt);
        var detached = _host.File.DetachDevicePasid(_devId, 1u << 9);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(noSetDevPasid, Is.EqualTo(Errno.EOPNOTSUPP), "no set_dev_pasid: EOPNOTSUPP, though the PASID is out of range too");
            Assert.That(tooWide, Is.EqualTo(Errno.EINVAL), "at max_pasids");
            Assert.That(inRange, Is.EqualTo(Errno.Success));
            _iommu.Verify(i => i.AttachPasid(_device, 7, _domain.Object, null), Times.Once());
            Assert.That((noPasids, detached), Is.EqualTo((Errno.Success, Errno.Success)), "max_pasids 0: not validated");
            _iommu.Verify(i => i.AttachPasid(_device, 1u << 9, It.IsAny<IIommuDomain>(), It.IsAny<IIommuDomain?>()), Times.Never(), "nor given to the driver");
            _iommu.Verify(i => i.DetachPasid(_device, 1u << 9), Times.Never());
        }
    }

    private UserRegion AttachAndMap(int pages)
    {
        var region = _host.Process.Map((long)((ulong)pages * Page));
        uint pt = _ioas;
        Assert.That(_host.File.AttachDevice(_devId, ref pt), Is.EqualTo(Errno.Success));
        ulong iova = Iova;
        Assert.That(_host.File.IoasMap(_ioas, region.Address, region.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova), Is.EqualTo(Errno.Success));
        return region;
    }

    private uint AttachedHwpt()
    {
        uint pt = _ioas;
        Assert.That(_host.File.ReplaceDevice(_devId, ref pt), Is.EqualTo(Errno.Success));
        return pt; // the core writes back the auto domain's HWPT id
    }
}
