using Iommufd.Core;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Core;

/// <summary>
/// The fail_nth sweep (iommufd_fail_nth.c): the n-th injection point of the main set-up sequence fails, for every n
/// until the sequence completes; the failing step must leave the file and the driver as they were, and closing
/// must leave nothing behind.
/// </summary>
public class FailNthSweepTests
{
    [Test]
    public void Failing_each_point_of_the_set_up_sequence_once_leaves_nothing_behind()
    {
        int n = 1;
        for (; n < 200; n++)
        {
            using var fx = new MockFixture();
            Assert.That(fx.File.UnbindDevice(fx.DevId), Is.EqualTo(Errno.Success), "the sequence binds the device itself");
            var faults = fx.Services.GetRequiredService<FailNth>();
            faults.Arm(n);
            string? failed = RunSequence(fx, out int objectsBefore, out int domainsBefore);
            faults.Disarm();
            if (!faults.Fired)
            {
                Assert.That(failed, Is.Null, "the sequence completes when no point fails");
                break;
            }

            using (Assert.EnterMultipleScope())
            {
                Assert.That(failed, Is.Not.Null, $"point {n} fired but every step succeeded");
                Assert.That(fx.File.ObjectCount, Is.EqualTo(objectsBefore), $"point {n} ({failed}): objects");
                Assert.That(fx.Mock.DomainCount, Is.EqualTo(domainsBefore), $"point {n} ({failed}): domains");
            }

            fx.Dispose();
            fx.AssertNoLeaks();
        }

        TestContext.Out.WriteLine($"{n - 1} injection points swept");
        Assert.That(n, Is.GreaterThan(5), "the sequence reaches several injection points");
    }

    private static string? RunSequence(MockFixture fx, out int objectsBefore, out int domainsBefore)
    {
        uint dev = 0, parent = 0, viommu = 0;
        (string Name, Func<Errno> Step)[] steps =
        [
            ("bind", () => fx.File.BindDevice(fx.Device, out dev)),
            ("IOAS_MAP", () => fx.MapGuestRamAt(0, MockFixture.PageSize, SelftestConstants.MockApertureStart, IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable)),
            ("HWPT_ALLOC nest parent", () => fx.AllocHwpt(dev, fx.IoasId, IommuHwptAllocFlags.NestParent, out parent)),
            ("VIOMMU_ALLOC", () => fx.AllocViommu(dev, parent, (uint)IommuViommuType.Selftest, out viommu)),
            ("VDEVICE_ALLOC", () => fx.AllocVdevice(viommu, dev, 7, out _)),
            ("VEVENTQ_ALLOC", () => fx.AllocVeventq(viommu, IommuVeventqType.Selftest, 4, out _, out _)),
            ("HW_QUEUE_ALLOC", () => fx.AllocHwQueue(viommu, IommuHwQueueType.Selftest, 0, SelftestConstants.MockApertureStart, MockFixture.PageSize, out _)),
            ("HWPT_ALLOC nested", () => fx.AllocNested(viommu, out _)),
            ("attach IOAS", () =>
            {
                uint pt = fx.IoasId;
                return fx.File.AttachDevice(dev, ref pt);
            }),
        ];
        foreach (var (name, step) in steps)
        {
            objectsBefore = fx.File.ObjectCount;
            domainsBefore = fx.Mock.DomainCount;
            if (step() != Errno.Success)
            {
                return name;
            }
        }

        objectsBefore = domainsBefore = 0;
        return null;
    }
}
