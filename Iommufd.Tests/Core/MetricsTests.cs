using System.Diagnostics.Metrics;
using Iommufd.Core;
using Iommufd.Core.Uapi;
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
}
