using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Core;

/// <summary>The invalidation hot path allocates nothing in steady state: pooled buffers, spans end to end.</summary>
public class InvalidateAllocationTests
{
    private const uint VirtId = 0x99;

    [TestCase(false, TestName = "A_steady_state_raw_HWPT_INVALIDATE_on_the_mock_vIOMMU_allocates_zero_bytes")]
    [TestCase(true, TestName = "A_steady_state_raw_HWPT_INVALIDATE_on_the_mock_vIOMMU_allocates_zero_bytes_with_its_metrics_observed")]
    public void A_steady_state_raw_HWPT_INVALIDATE_on_the_mock_vIOMMU_allocates_zero_bytes(bool observed)
    {
        using var fx = new MockFixture();
        using var listener = new MeterListener();
        if (observed)
        {
            // Every instrument of the core (call counter, invalidation histograms) on, with callbacks that keep nothing.
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == fx.Host.Metrics.Meter)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
            listener.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
            listener.Start();
        }

        var (_, viommuId, _) = fx.SetUpViommu();
        Assert.That(fx.AllocVdevice(viommuId, fx.DevId, VirtId, out _), Is.EqualTo(Errno.Success));
        var entries = fx.Process.Map(4096);
        var requests = MemoryMarshal.Cast<byte, IommuViommuInvalidateSelftest>(entries.Span);
        for (int i = 0; i < 4; i++)
        {
            requests[i] = new IommuViommuInvalidateSelftest { VdevId = VirtId, CacheId = (uint)i };
        }

        var cmd = new IommuHwptInvalidate
        {
            Size = (uint)Unsafe.SizeOf<IommuHwptInvalidate>(), HwptId = viommuId, DataUptr = entries.Address,
            DataType = (uint)IommuHwptInvalidateDataType.Selftest, EntryLen = (uint)Unsafe.SizeOf<IommuViommuInvalidateSelftest>(),
        };
        var file = fx.File;

        Errno Call()
        {
            cmd.EntryNum = 4;
            return file.Ioctl(IommufdIoctl.IOMMU_HWPT_INVALIDATE, MemoryMarshal.AsBytes(new Span<IommuHwptInvalidate>(ref cmd)));
        }

        for (int i = 0; i < 100; i++)
        {
            Assert.That(Call(), Is.EqualTo(Errno.Success)); // warm up: JIT, pools
        }

        long allocated = AllocationProbe.SteadyStateBytes(() => Call());
        Assert.Multiple(() =>
        {
            Assert.That(allocated, Is.Zero);
            Assert.That(cmd.EntryNum, Is.EqualTo(4u));
        });
    }
}
