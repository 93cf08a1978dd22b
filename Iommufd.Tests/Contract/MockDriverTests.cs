using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Iommufd.Tests.Contract;

/// <summary>
/// The mock plugin's own behaviour beside the selftest tables: GET_HW_INFO (selftest.c mock_domain_hw_info()), DMA
/// through its page tables, its options and several instances.
/// </summary>
[TestFixture]
public class MockDriverTests : MockContractTest
{
    [Test]
    public void GET_HW_INFO_reports_the_SELFTEST_type_and_test_reg()
    {
        ulong data = Fx.Put(new IommuTestHwInfo { Flags = 0xffff, TestReg = 0 }, new IommuTestHwInfo { Flags = 0xffff, TestReg = 0xffff });
        var cmd = new IommuHwInfo { DevId = Fx.DevId, DataLen = 16, DataUptr = data };

        var rc = Fx.Raw(IommufdIoctl.IOMMU_GET_HW_INFO, ref cmd);
        var info = Fx.Get<IommuTestHwInfo>(data);
        var tail = Fx.Get<IommuTestHwInfo>(data + 8);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(cmd.DataType, Is.EqualTo((uint)IommuHwInfoType.Selftest));
            Assert.That(cmd.DataLen, Is.EqualTo((uint)Marshal.SizeOf<IommuTestHwInfo>()));
            Assert.That(info.Flags, Is.Zero);
            Assert.That(info.TestReg, Is.EqualTo(SelftestConstants.TestHwInfoReg));
            Assert.That(tail.Flags, Is.Zero, "the user buffer's tail is zeroed");
            Assert.That(tail.TestReg, Is.Zero);
            Assert.That(cmd.OutCapabilities, Is.EqualTo((ulong)IommuHwCapabilities.DirtyTracking), "selftest.c mock_domain_capable(); no PASID");
        }
    }

    [TestCase(IommuHwInfoType.Selftest, Errno.Success)]
    [TestCase(IommuHwInfoType.ArmSmmuV3, Errno.EOPNOTSUPP)]
    [TestCase(IommuHwInfoType.Tegra241Cmdqv, Errno.EOPNOTSUPP)]
    public void GET_HW_INFO_with_an_input_type_answers_only_for_SELFTEST(IommuHwInfoType type, Errno expected)
    {
        ulong data = Fx.Put(new IommuTestHwInfo());
        var cmd = new IommuHwInfo
        {
            Flags = (uint)IommuHwInfoFlags.InputType,
            DevId = Fx.DevId,
            DataLen = 8,
            DataUptr = data,
            DataType = (uint)type,
        };

        Assert.That(Fx.Raw(IommufdIoctl.IOMMU_GET_HW_INFO, ref cmd), Is.EqualTo(expected));
    }

    [Test]
    public void DMA_is_blocked_until_the_device_is_attached_and_translates_through_a_paging_domain()
    {
        ulong iova = SelftestConstants.MockApertureStart;
        MockFixture.Expect(Fx.MapGuestRamAt(0, 2 * MockFixture.PageSize, iova, IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable), "map");
        var pattern = Enumerable.Range(0, 6000).Select(i => (byte)i).ToArray();

        var blocked = Fx.Device.DmaWrite(iova, pattern);
        MockFixture.Expect(Fx.Attach(Fx.IoasId), "attach to the IOAS");
        var write = Fx.Device.DmaWrite(iova + 100, pattern);
        var readBack = new byte[pattern.Length];
        var read = Fx.Device.DmaRead(iova + 100, readBack);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(blocked, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(write, Is.EqualTo(DmaStatus.Ok));
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(readBack, Is.EqualTo(pattern));
            Assert.That(Fx.GuestRam.Span.Slice(100, pattern.Length).ToArray(), Is.EqualTo(pattern), "the bytes landed in guest RAM");
        }
    }

    [Test]
    public void DMA_to_an_unmapped_IOVA_is_a_translation_fault_and_a_write_to_a_read_only_page_a_permission_fault()
    {
        ulong iova = SelftestConstants.MockApertureStart;
        MockFixture.Expect(Fx.MapGuestRamAt(0, MockFixture.PageSize, iova, IommuIoasMapFlags.Readable), "map read-only");
        MockFixture.Expect(Fx.Attach(Fx.IoasId), "attach");

        var unmapped = Fx.Device.DmaRead(iova + MockFixture.PageSize, new byte[4]);
        var readOnlyWrite = Fx.Device.DmaWrite(iova, new byte[4]);
        var read = Fx.Device.DmaRead(iova, new byte[4]);
        var crossing = Fx.Device.DmaRead(iova + MockFixture.PageSize - 2, new byte[4]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unmapped, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(readOnlyWrite, Is.EqualTo(DmaStatus.PermissionFault));
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(crossing, Is.EqualTo(DmaStatus.TranslationFault), "the second page is not mapped");
        }
    }

    [Test]
    public void DMA_through_a_nested_domain_uses_the_parent_and_unmapping_takes_effect_at_once()
    {
        var (_, viommu, nested) = Fx.SetUpViommu();
        ulong iova = SelftestConstants.MockApertureStart;
        MockFixture.Expect(Fx.MapGuestRamAt(0, MockFixture.PageSize, iova, IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable), "map");
        MockFixture.Expect(Fx.AllocVdevice(viommu, Fx.DevId, 1, out _), "VDEVICE_ALLOC");
        MockFixture.Expect(Fx.Attach(nested), "attach to the nested HWPT");
        Fx.GuestRam.Span[8] = 0x5a;

        var buffer = new byte[1];
        var read = Fx.Device.DmaRead(iova + 8, buffer);
        MockFixture.Expect(Fx.Unmap(iova, MockFixture.PageSize), "unmap");
        var afterUnmap = Fx.Device.DmaRead(iova + 8, new byte[1]);
        MockFixture.Expect(Fx.Detach(), "detach");
        var afterDetach = Fx.Device.DmaRead(iova + 8, new byte[1]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo(DmaStatus.Ok));
            Assert.That(buffer[0], Is.EqualTo(0x5a));
            Assert.That(afterUnmap, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(afterDetach, Is.EqualTo(DmaStatus.Blocked));
            Assert.That(Fx.Mock.TriggerVevent(Fx.Device), Is.EqualTo(Errno.ENOENT), "detach forgets the vIOMMU");
        }
    }

    [Test]
    public void Concurrent_invalidations_DMA_and_remapping_keep_every_result_consistent()
    {
        // No timing: a fixed amount of work on four threads; every call must give its single-threaded answer.
        var (_, viommu, nested) = Fx.SetUpViommu();
        MockFixture.Expect(Fx.AllocVdevice(viommu, Fx.DevId, 0x99, out _), "VDEVICE_ALLOC");
        MockFixture.Expect(Fx.Attach(nested), "attach");
        ulong stable = SelftestConstants.MockApertureStart;
        ulong flapping = stable + MockFixture.PageSize;
        MockFixture.Expect(Fx.MapGuestRamAt(0, MockFixture.PageSize, stable, IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable), "map");
        uint nestedLen = (uint)Marshal.SizeOf<IommuHwptInvalidateSelftest>();
        uint viommuLen = (uint)Marshal.SizeOf<IommuViommuInvalidateSelftest>();
        ulong nestedEntries = Fx.Put(new IommuHwptInvalidateSelftest { IotlbId = 1 }, new IommuHwptInvalidateSelftest { IotlbId = 2 });
        ulong viommuEntries = Fx.Put(new IommuViommuInvalidateSelftest { VdevId = 0x99, CacheId = 3 });
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        const int Rounds = 2000;

        void Invalidator()
        {
            for (int i = 0; i < Rounds; i++)
            {
                uint n = 2;
                var rc = Fx.Invalidate(nested, (uint)IommuHwptInvalidateDataType.Selftest, nestedLen, nestedEntries, ref n);
                if (rc != Errno.Success || n != 2)
                {
                    failures.Enqueue($"nested: {rc}, {n}");
                }

                n = 1;
                rc = Fx.Invalidate(viommu, (uint)IommuHwptInvalidateDataType.Selftest, viommuLen, viommuEntries, ref n);
                if (rc != Errno.Success || n != 1)
                {
                    failures.Enqueue($"vIOMMU: {rc}, {n}");
                }
            }
        }

        void Dma()
        {
            var buffer = new byte[8];
            for (int i = 0; i < Rounds; i++)
            {
                var status = Fx.Device.DmaWrite(stable + 64, buffer);
                if (status != DmaStatus.Ok)
                {
                    failures.Enqueue($"DMA to a stable page: {status}");
                }

                status = Fx.Device.DmaRead(flapping, buffer);
                if (status is not (DmaStatus.Ok or DmaStatus.TranslationFault))
                {
                    failures.Enqueue($"DMA to a page being remapped: {status}");
                }
            }
        }

        void Remapper()
        {
            for (int i = 0; i < Rounds / 4; i++)
            {
                var map = Fx.MapGuestRamAt(MockFixture.PageSize, MockFixture.PageSize, flapping, IommuIoasMapFlags.Readable);
                var unmap = Fx.Unmap(flapping, MockFixture.PageSize);
                if (map != Errno.Success || unmap != Errno.Success)
                {
                    failures.Enqueue($"remap: {map}, {unmap}");
                }
            }
        }

        Task.WaitAll(Task.Run(Invalidator), Task.Run(Invalidator), Task.Run(Dma), Task.Run(Remapper));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failures, Is.Empty);
            Assert.That(Fx.Iotlb(nested), Is.EqualTo(new[] { MockFixture.IotlbDefault, 0u, 0u, MockFixture.IotlbDefault }));
            Assert.That(Fx.DeviceCache(), Is.EqualTo(new[] { SelftestConstants.DevCacheDefault, SelftestConstants.DevCacheDefault, SelftestConstants.DevCacheDefault, 0u }));
        }
    }

    [Test]
    public void A_vDEVICE_with_virtual_ID_0_still_gets_its_events()
    {
        // Deliberate difference from the kernel mock, which treats a recorded vdev_id of 0 as "none".
        var (_, viommu, nested) = Fx.SetUpViommu();
        MockFixture.Expect(Fx.AllocVeventq(viommu, IommuVeventqType.Selftest, 2, out _, out int fd), "VEVENTQ_ALLOC");
        MockFixture.Expect(Fx.AllocVdevice(viommu, Fx.DevId, 0, out _), "VDEVICE_ALLOC 0");
        MockFixture.Expect(Fx.Attach(nested), "attach");
        int previous = -1;

        var trigger = Fx.Mock.TriggerVevent(Fx.Device);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(trigger, Is.EqualTo(Errno.Success));
            Assert.That(Fx.ReadVevents(fd, 1, 0, ref previous), Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void The_test_hooks_reject_domains_and_slots_that_are_not_theirs()
    {
        uint paging = Fx.AllocPaging();
        Assert.That(Fx.File.GetHwptDomain(paging, out var pagingDomain), Is.EqualTo(Errno.Success));
        uint nested = Fx.AllocNested(paging);
        Assert.That(Fx.File.GetHwptDomain(nested, out var nestedDomain), Is.EqualTo(Errno.Success));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => Fx.Mock.GetIotlb(pagingDomain, 0), Throws.ArgumentException);
            Assert.That(() => Fx.Mock.GetIotlb(nestedDomain, 4), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => Fx.Mock.GetDeviceCache(Fx.Device, -1), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(Fx.File.GetHwptDomain(Fx.IoasId, out _), Is.EqualTo(Errno.ENOENT));
        }
    }

    [Test]
    public void Each_configured_name_is_an_instance_and_a_domain_of_one_instance_cannot_attach_to_another()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu().AddMockIommu("mock1").AddMockIommu("mock1")
                .AddDevice("a", "mock0", streamId: 1).AddDevice("b", "mock1", streamId: 1))
            .BuildServiceProvider();
        var platform = provider.GetRequiredService<IommufdHost>().Platform;
        var a = platform.GetDevice("a");
        var b = platform.GetDevice("b");
        var mock0 = (MockIommu)a.Iommu;
        var mock1 = (MockIommu)b.Iommu;

        var alloc = mock0.AllocPagingDomain(a, 0, out var domain);
        var crossAttach = mock1.Attach(b, domain);
        domain.Free();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(platform.Iommus.Select(i => i.Name), Is.EqualTo(new[] { "mock0", "mock1" }));
            Assert.That(alloc, Is.EqualTo(Errno.Success));
            Assert.That(crossAttach, Is.EqualTo(Errno.EINVAL));
            Assert.That(mock0.DomainCount, Is.Zero);
        }
    }

    [Test]
    public void Options_without_names_give_one_instance_named_mock0()
    {
        var options = new MockIommuOptions();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.EffectiveInstanceNames, Is.EqualTo(new[] { "mock0" }));
            Assert.That(options.Validate(), Is.Empty);
        }
    }

    [Test]
    public void A_blank_instance_name_fails_when_the_platform_is_built()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddMockIommu())
            .Configure<MockIommuOptions>(o => o.InstanceNames.Add(" "))
            .BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<Platform>(), Throws.InstanceOf<OptionsValidationException>());
    }
}
