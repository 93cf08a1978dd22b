using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Iommufd.Tests.Support;

/// <summary>
/// The leak counts a user sees, read as a user's collector would: the host's <c>Iommufd.Core</c> meter — its up-down
/// counters (objects, pinned pages, mmaps) summed by <see cref="MetricCollector{T}"/>s from the moment they start, and
/// its <c>iommufd.frames</c> gauge — and the process's queue-engine threads. <see cref="Read"/> before and after a
/// scenario must agree.
/// </summary>
internal sealed class LeakGauges : IDisposable
{
    private readonly MetricCollector<long> _objects;
    private readonly MetricCollector<long> _pinnedPages;
    private readonly MetricCollector<long> _mmaps;
    private readonly MetricCollector<long> _frames;

    public LeakGauges(IommufdHost host)
    {
        var meter = host.Metrics.Meter;
        _objects = new MetricCollector<long>(meter, "iommufd.objects");
        _pinnedPages = new MetricCollector<long>(meter, "iommufd.pinned_pages");
        _mmaps = new MetricCollector<long>(meter, "iommufd.mmaps");
        _frames = new MetricCollector<long>(meter, "iommufd.frames");
    }

    public Counts Read()
    {
        _frames.RecordObservableInstruments();
        return new(Sum(_objects), Sum(_pinnedPages), Sum(_mmaps), (int)_frames.LastMeasurement!.Value, QueueEngine.LiveThreads);
    }

    public void Dispose()
    {
        _objects.Dispose();
        _pinnedPages.Dispose();
        _mmaps.Dispose();
        _frames.Dispose();
    }

    private static long Sum(MetricCollector<long> collector) => collector.GetMeasurementSnapshot().Sum(m => m.Value);

    /// <summary>One reading; objects, pins and mmaps count from the collectors' start.</summary>
    internal readonly record struct Counts(long Objects, long PinnedPages, long Mmaps, int Frames, long EngineThreads);
}
