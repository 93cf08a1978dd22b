using System.Diagnostics;
using System.Diagnostics.Metrics;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// The core's instruments, on the meter <see cref="MeterName"/> made by the host's <see cref="IMeterFactory"/> (the
/// one <c>AddIommufd</c> registers, so a collector scoped to the service provider sees exactly its host): every call
/// by command and result, the latency and batch size of each user invalidation, and the counts a leak shows in —
/// live objects by type, pinned pages, live mmaps and physical frames. Tags are built only when a listener is
/// attached, so an unobserved call pays one flag check.
/// </summary>
public sealed class IommufdMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Iommufd.Core";

    private readonly Counter<long> _ioctls;
    private readonly UpDownCounter<long> _objects;
    private readonly UpDownCounter<long> _pinnedPages;
    private readonly UpDownCounter<long> _mmaps;
    private readonly Histogram<double> _invalidationLatency;
    private readonly Histogram<long> _invalidationBatch;

    /// <summary>
    /// Instruments on the meter <paramref name="meterFactory"/> makes (without one, on a meter of their own), with
    /// <c>iommufd.frames</c> observing <paramref name="memory"/>.
    /// </summary>
    internal IommufdMetrics(IMeterFactory? meterFactory, PhysicalMemory memory)
    {
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _ioctls = Meter.CreateCounter<long>("iommufd.ioctls", unit: "{call}", description: "iommufd calls, raw ioctls and typed methods alike, by command, result and API");
        _objects = Meter.CreateUpDownCounter<long>("iommufd.objects", unit: "{object}", description: "Live iommufd objects by type");
        _pinnedPages = Meter.CreateUpDownCounter<long>("iommufd.pinned_pages", unit: "{page}", description: "User pages pinned by IOAS mappings and HW queues");
        _mmaps = Meter.CreateUpDownCounter<long>("iommufd.mmaps", unit: "{mapping}", description: "Live mmaps of iommufd files");
        _invalidationLatency = Meter.CreateHistogram<double>("iommufd.invalidation.duration", unit: "s", description: "Time a driver took for one IOMMU_HWPT_INVALIDATE, by target and result");
        _invalidationBatch = Meter.CreateHistogram<long>("iommufd.invalidation.entries", unit: "{entry}", description: "Entries one IOMMU_HWPT_INVALIDATE asked a driver to run, by target");
        Meter.CreateObservableGauge("iommufd.frames", () => (long)memory.FrameCount, unit: "{frame}", description: "Physical frames present on the host's machine");
    }

    /// <summary>The meter the instruments are on (tests collect from it).</summary>
    internal Meter Meter { get; }

    // Tag values are the kernel's names ("IOMMU_IOAS_MAP", "EINVAL"), made once, so a recorded ioctl allocates nothing.
    private static readonly string?[] CommandNames = BuildCommandNames();
    private static readonly string?[] ErrnoNames = BuildErrnoNames();
    private static readonly string[] ObjectTypeNames = [.. Enum.GetValues<IommufdObjectType>().Select(t => t.ToString())];

    /// <summary>Counts a raw ioctl (<paramref name="raw"/>) or a typed call under <paramref name="command"/>.</summary>
    internal void RecordCall(string command, Errno result, bool raw = true)
    {
        if (_ioctls.Enabled)
        {
            _ioctls.Add(1, new("command", command), new("errno", ErrnoName(result)), new("api", raw ? "raw" : "typed"));
        }
    }

    /// <summary>
    /// Runs one user invalidation on <paramref name="handler"/>, timing it and recording its batch size when
    /// observed; <paramref name="target"/> (the vIOMMU or nested HWPT) tags both.
    /// </summary>
    internal Errno Invalidate(Driver.IUserCacheInvalidation handler, ref Driver.InvalidationArray array, IommufdObjectType target)
    {
        if (!_invalidationLatency.Enabled && !_invalidationBatch.Enabled)
        {
            return handler.CacheInvalidate(ref array);
        }

        var tag = new KeyValuePair<string, object?>("target", ObjectTypeName(target));
        _invalidationBatch.Record(array.EntryNum, tag);
        long start = Stopwatch.GetTimestamp();
        var rc = handler.CacheInvalidate(ref array);
        _invalidationLatency.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, tag, new("errno", ErrnoName(rc)));
        return rc;
    }

    /// <summary>The kernel's name of an iommufd request ("IOMMU_HWPT_INVALIDATE"), or "unknown".</summary>
    internal static string CommandName(uint request)
    {
        uint index = (request & 0xFF) - IommufdIoctl.CmdBase;
        return (request & ~0xFFu) == IommufdIoctl.Type << 8 && index < (uint)CommandNames.Length && CommandNames[index] is { } name ? name
            : request switch
            {
                VfioIoctl.VFIO_GET_API_VERSION => nameof(VfioIoctl.VFIO_GET_API_VERSION),
                VfioIoctl.VFIO_CHECK_EXTENSION => nameof(VfioIoctl.VFIO_CHECK_EXTENSION),
                VfioIoctl.VFIO_SET_IOMMU => nameof(VfioIoctl.VFIO_SET_IOMMU),
                VfioIoctl.VFIO_IOMMU_GET_INFO => nameof(VfioIoctl.VFIO_IOMMU_GET_INFO),
                VfioIoctl.VFIO_IOMMU_MAP_DMA => nameof(VfioIoctl.VFIO_IOMMU_MAP_DMA),
                VfioIoctl.VFIO_IOMMU_UNMAP_DMA => nameof(VfioIoctl.VFIO_IOMMU_UNMAP_DMA),
                _ => "unknown",
            };
    }

    /// <summary>The errno's name ("EINVAL"; "Success" for 0).</summary>
    internal static string ErrnoName(Errno errno) =>
        (uint)errno < (uint)ErrnoNames.Length && ErrnoNames[(int)errno] is { } name ? name : errno.ToString();

    internal void ObjectAdded(IommufdObjectType type) => RecordObject(type, 1);

    internal void ObjectDestroyed(IommufdObjectType type) => RecordObject(type, -1);

    internal void Pinned(long pages)
    {
        if (_pinnedPages.Enabled)
        {
            _pinnedPages.Add(pages);
        }
    }

    internal void Mapped(int delta)
    {
        if (_mmaps.Enabled)
        {
            _mmaps.Add(delta);
        }
    }

    private void RecordObject(IommufdObjectType type, int delta)
    {
        if (_objects.Enabled)
        {
            _objects.Add(delta, new KeyValuePair<string, object?>("type", ObjectTypeName(type)));
        }
    }

    private static string ObjectTypeName(IommufdObjectType type) =>
        (uint)type < (uint)ObjectTypeNames.Length ? ObjectTypeNames[(int)type] : type.ToString();

    // Indexed by nr − 0x80; the numbers between the last allocation command and IOMMU_TEST_CMD have none.
    private static string?[] BuildCommandNames()
    {
        var commands = Enum.GetValues<IommufdCommand>();
        var names = new string?[(int)(commands.Max() - IommufdCommand.Destroy) + 1];
        foreach (var c in commands)
        {
            names[c - IommufdCommand.Destroy] = "IOMMU_" + SnakeCase(c.ToString());
        }

        return names;
    }

    private static string?[] BuildErrnoNames()
    {
        var values = Enum.GetValues<Errno>();
        var names = new string?[(int)values.Max() + 1];
        foreach (var e in values)
        {
            names[(int)e] = e.ToString();
        }

        return names;
    }

    private static string SnakeCase(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
}
