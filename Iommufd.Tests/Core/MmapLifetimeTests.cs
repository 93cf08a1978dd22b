using System.Runtime.CompilerServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;

namespace Iommufd.Tests.Core;

/// <summary>The core's mmap registry: a munmap releases what the mapping held at once, not at file close.</summary>
public class MmapLifetimeTests : MockContractTest
{
    private uint _viommu;
    private IommuViommuSelftest _out;

    [SetUp]
    public void AllocateAVIommuWithAnMmapRange()
    {
        uint parent = Fx.AllocPaging();
        ulong data = Fx.Put(new IommuViommuSelftest { InData = 1 });
        MockFixture.Expect(Fx.AllocViommu(Fx.DevId, parent, (uint)IommuViommuType.Selftest, out _viommu, data, (uint)Unsafe.SizeOf<IommuViommuSelftest>()), "VIOMMU_ALLOC with data");
        _out = Fx.Get<IommuViommuSelftest>(data);
    }

    [Test]
    public void Mmap_and_munmap_in_a_loop_leave_no_mapping_behind_and_the_vIOMMU_destroyable()
    {
        int most = 0;
        for (int i = 0; i < 1000; i++)
        {
            MockFixture.Expect(Fx.File.Mmap(_out.OutMmapOffset, _out.OutMmapLength, MmapProtection.ReadWriteShared, out var mapping), "mmap");
            most = Math.Max(most, Fx.File.MappingCount);
            mapping.Dispose();
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(most, Is.EqualTo(1), "one mapping at a time");
            Assert.That(Fx.File.MappingCount, Is.Zero, "munmap released the file's record of each mapping");
            Assert.That(Fx.Destroy(_viommu), Is.EqualTo(Errno.Success), "no mapping holds the vIOMMU");
            Assert.That(Fx.Mock.ViommuCount, Is.Zero, "the vIOMMU and its mmap pages are gone before the file closes");
        }
    }

    [Test]
    public void An_access_after_munmap_throws_and_a_second_munmap_is_harmless()
    {
        MockFixture.Expect(Fx.File.Mmap(_out.OutMmapOffset, _out.OutMmapLength, MmapProtection.ReadWriteShared, out var mapping), "mmap");
        mapping.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => mapping.Read32(0), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(mapping.Dispose, Throws.Nothing);
            Assert.That(Fx.Destroy(_viommu), Is.EqualTo(Errno.Success), "the second munmap dropped no second reference");
        }
    }

    [Test]
    public void Closing_the_file_unmaps_what_is_still_mapped()
    {
        MockFixture.Expect(Fx.File.Mmap(_out.OutMmapOffset, _out.OutMmapLength, MmapProtection.ReadWriteShared, out var mapping), "mmap");

        Fx.File.Dispose();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(mapping.IsMapped, Is.False);
            Assert.That(Fx.File.MappingCount, Is.Zero);
            Assert.That(Fx.Mock.ViommuCount, Is.Zero);
        }
    }
}
