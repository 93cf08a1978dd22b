using System.Diagnostics.Metrics;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

public class MetricsTests
{
    [Test]
    public void Every_raw_ioctl_is_counted_by_command_and_errno()
    {
        using var host = new TestHost();
        var seen = new List<(long Value, string Command, string Errno)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == IommufdMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string command = "", errno = "";
            foreach (var tag in tags)
            {
                command = tag.Key == "command" ? (string)tag.Value! : command;
                errno = tag.Key == "errno" ? (string)tag.Value! : errno;
            }

            lock (seen)
            {
                seen.Add((value, command, errno));
            }
        });
        listener.Start();

        var alloc = new IommuIoasAlloc();
        host.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, ref alloc);
        var destroy = new IommuDestroy { Id = 42 };
        host.File.Ioctl(IommufdIoctl.IOMMU_DESTROY, ref destroy);

        lock (seen)
        {
            Assert.That(seen, Is.SupersetOf(new[] { (1L, "0x81", "Success"), (1L, "0x80", "ENOENT") }));
        }
    }

    [Test]
    public void The_leak_gauges_show_pins_of_mappings_and_HW_queues_objects_and_mmaps_until_they_are_released()
    {
        using var fx = new MockFixture();
        int objectsBefore = fx.File.ObjectCount; // the IOAS and the device, made before the listener counts
        using var gauges = new LeakGauges(fx.Memory);
        var start = gauges.Read();
        MockFixture.Expect(fx.MapGuestRamAt(0, 2 * MockFixture.PageSize, SelftestConstants.MockApertureStart, IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable), "map");
        var (_, viommu, _) = fx.SetUpViommu();
        MockFixture.Expect(fx.AllocHwQueue(viommu, IommuHwQueueType.Selftest, 0, SelftestConstants.MockApertureStart, MockFixture.PageSize, out uint queue), "HW queue");
        var held = gauges.Read();
        MockFixture.Expect(fx.Destroy(queue), "destroy the HW queue");
        var released = gauges.Read();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(held.PinnedPages - start.PinnedPages, Is.EqualTo(3), "two mapped pages and the HW queue's page");
            Assert.That(held.Objects - start.Objects, Is.GreaterThanOrEqualTo(4), "the parent, the vIOMMU, the nested HWPT and the HW queue");
            Assert.That(released.PinnedPages - start.PinnedPages, Is.EqualTo(2), "the HW queue's pin is gone with it");
            Assert.That(released.Objects, Is.EqualTo(held.Objects - 1));
        }

        fx.Dispose();
        var closed = gauges.Read();
        Assert.That(closed, Is.EqualTo(start with { Objects = -objectsBefore, Frames = 0 }), "every object, pin and frame released when the file closes");
    }
}
