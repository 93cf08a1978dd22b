using System.Diagnostics.Metrics;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Memory;

namespace Iommufd.Tests.Support;

/// <summary>
/// The leak counts a user sees, read as a user would: the <c>Iommufd.Core</c> meter's up-down counters (objects,
/// pinned pages, mmaps) summed by a <see cref="MeterListener"/> from the moment it starts, a machine's physical
/// frames and the process's queue-engine threads. <see cref="Read"/> before and after a scenario must agree.
/// </summary>
internal sealed class LeakGauges : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly PhysicalMemory _memory;
    private long _objects;
    private long _pinnedPages;
    private long _mmaps;

    public LeakGauges(PhysicalMemory memory)
    {
        _memory = memory;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IommufdMetrics.MeterName && instrument.Name is "iommufd.objects" or "iommufd.pinned_pages" or "iommufd.mmaps")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case "iommufd.objects":
                    Interlocked.Add(ref _objects, value);
                    break;
                case "iommufd.pinned_pages":
                    Interlocked.Add(ref _pinnedPages, value);
                    break;
                default:
                    Interlocked.Add(ref _mmaps, value);
                    break;
            }
        });
        _listener.Start();
    }

    public Counts Read() => new(Interlocked.Read(ref _objects), Interlocked.Read(ref _pinnedPages), Interlocked.Read(ref _mmaps), _memory.FrameCount, QueueEngine.LiveThreads);

    public void Dispose() => _listener.Dispose();

    /// <summary>One reading; objects, pins and mmaps count from the listener's start.</summary>
    internal readonly record struct Counts(long Objects, long PinnedPages, long Mmaps, int Frames, long EngineThreads);
}
