using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Iommufd.Tests.Core;

/// <summary>The core's meter as a user's collector reads it: readable tag values, one measurement per raw ioctl.</summary>
public class MetricsTests
{
    [Test]
    public void Every_raw_ioctl_and_typed_call_is_counted_once_under_its_command_and_errno_names()
    {
        using var host = new TestHost();
        using var ioctls = new MetricCollector<long>(host.Host.Metrics.Meter, "iommufd.ioctls");

        var alloc = new IommuIoasAlloc();
        host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc);
        var destroy = new IommuDestroy { Id = 42 };
        host.File.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref destroy);
        var invalidate = new IommuHwptInvalidate { HwptId = 42 };
        host.File.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, ref invalidate);
        host.File.Ioctl((IommufdIoctl.Type << 8) | 0x7F, []);
        host.File.IoasAlloc(out _);
        host.File.Destroy(42);

        var seen = ioctls.GetMeasurementSnapshot().Select(m => (m.Value, Command: (string)m.Tags["command"]!, Errno: (string)m.Tags["errno"]!, Api: (string)m.Tags["api"]!));
        Assert.That(seen, Is.EqualTo(new[]
        {
            (1L, "IOMMU_IOAS_ALLOC", "Success", "raw"),
            (1L, "IOMMU_DESTROY", "ENOENT", "raw"),
            (1L, "IOMMU_HWPT_INVALIDATE", "ENOENT", "raw"),
            (1L, "unknown", "ENOTTY", "raw"),
            (1L, "IoasAlloc", "Success", "typed"),
            (1L, "Destroy", "ENOENT", "typed"),
        }), "a raw ioctl once, though it runs the typed method; a typed call under its method's name");
    }

    [Test]
    public void Each_user_invalidation_records_its_batch_size_and_latency_by_target_and_result()
    {
        using var fx = new MockFixture();
        var (_, viommu, nested) = fx.SetUpViommu();
        using var entries = new MetricCollector<long>(fx.Host.Metrics.Meter, "iommufd.invalidation.entries");
        using var latency = new MetricCollector<double>(fx.Host.Metrics.Meter, "iommufd.invalidation.duration");

        var nestedRc = fx.InvalidateNested(nested, out _, new IommuHwptInvalidateSelftest { IotlbId = 0 }, new IommuHwptInvalidateSelftest { IotlbId = 1 });
        var viommuRc = fx.InvalidateViommu(viommu, out _, new IommuViommuInvalidateSelftest { Flags = 0xffffffff });
        var unknownRc = fx.InvalidateNested(0x7777, out _, new IommuHwptInvalidateSelftest());

        var batches = entries.GetMeasurementSnapshot().Select(m => (m.Value, Target: (string)m.Tags["target"]!));
        var timed = latency.GetMeasurementSnapshot();
        using (Assert.EnterMultipleScope())
        {
            Assert.That((nestedRc, viommuRc, unknownRc), Is.EqualTo((Errno.Success, Errno.EOPNOTSUPP, Errno.ENOENT)));
            Assert.That(batches, Is.EqualTo(new[] { (2L, "HwptNested"), (1L, "Viommu") }), "what each driver was asked to run; a call refused before the driver is no batch");
            Assert.That(timed.Select(m => ((string)m.Tags["target"]!, (string)m.Tags["errno"]!)), Is.EqualTo(new[] { ("HwptNested", "Success"), ("Viommu", "EOPNOTSUPP") }));
            Assert.That(timed.Select(m => m.Value), Has.All.GreaterThanOrEqualTo(0.0), "seconds");
        }
    }

    [Test]
    public void Every_command_of_the_table_has_its_kernel_name()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES), Is.EqualTo("IOMMU_IOAS_IOVA_RANGES"));
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.IOMMU_GET_HW_INFO), Is.EqualTo("IOMMU_GET_HW_INFO"));
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.IOMMU_HWPT_SET_DIRTY_TRACKING), Is.EqualTo("IOMMU_HWPT_SET_DIRTY_TRACKING"));
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.Number(IommufdCommand.FaultQueueAlloc)), Is.EqualTo("IOMMU_FAULT_QUEUE_ALLOC"));
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.Number(IommufdCommand.HwQueueAlloc)), Is.EqualTo("IOMMU_HW_QUEUE_ALLOC"));
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.Number(IommufdCommand.TestCmd)), Is.EqualTo("IOMMU_TEST_CMD"));
            Assert.That(IommufdMetrics.CommandName(IommufdIoctl.Number(IommufdCommand.HwQueueAlloc) + 1), Is.EqualTo("unknown"), "no command between");
            Assert.That(IommufdMetrics.CommandName(0x1234_0081), Is.EqualTo("unknown"), "another ioctl type");
            Assert.That(IommufdMetrics.ErrnoName(Errno.EOPNOTSUPP), Is.EqualTo("EOPNOTSUPP"));
            Assert.That(IommufdMetrics.ErrnoName((Errno)4095), Is.EqualTo("4095"));
        }
    }

    [Test]
    public void The_leak_gauges_show_pins_of_mappings_and_HW_queues_objects_and_mmaps_until_they_are_released()
    {
        using var fx = new MockFixture();
        int objectsBefore = fx.File.ObjectCount; // the IOAS and the device, made before the listener counts
        using var gauges = new LeakGauges(fx.Host);
        var start = gauges.Read();
        MockFixture.Expect(fx.MapGuestRamAt(0, 2 * MockFixture.PageSize, SelftestConstants.MockApertureStart, IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable), "map");
        var (_, viommu, _) = fx.SetUpViommu();
        MockFixture.Expect(fx.AllocHwQueue(viommu, IommuHwQueueType.Selftest, 0, SelftestConstants.MockApertureStart, MockFixture.PageSize, out uint queue), "HW queue");
        var held = gauges.Read();
        MockFixture.Expect(fx.Destroy(queue), "destroy the HW queue");
        var released = gauges.Read();

        using (Assert.EnterMultipleScope())
        {
            // pages.c counts a page set's pinned pages once (npinned), whether a domain, an access or a HW queue holds them.
            Assert.That(held.PinnedPages - start.PinnedPages, Is.EqualTo(2), "two mapped pages, the HW queue's among them, pinned once");
            Assert.That(held.Objects - start.Objects, Is.GreaterThanOrEqualTo(4), "the parent, the vIOMMU, the nested HWPT and the HW queue");
            Assert.That(released.PinnedPages - start.PinnedPages, Is.EqualTo(2), "the domain still holds them");
            Assert.That(released.Objects, Is.EqualTo(held.Objects - 1));
        }

        fx.File.Dispose();
        var closed = gauges.Read();
        int framesAtClose = fx.Memory.FrameCount;
        fx.Dispose();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(closed with { Frames = start.Frames }, Is.EqualTo(start with { Objects = -objectsBefore }), "every object and pin released when the file closes");
            Assert.That(closed.Frames, Is.EqualTo(framesAtClose).And.Positive, "iommufd.frames observes the host's machine (the process still has its memory)");
            Assert.That(fx.Memory.FrameCount, Is.Zero, "every frame released with the host");
        }
    }
}
