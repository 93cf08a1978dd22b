using System.Diagnostics.Metrics;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// The core's instruments (meter <c>Iommufd.Core</c>): every raw ioctl by command and result, and the counts a leak
/// shows in — live objects by type, pinned pages, live mmaps and physical frames. Tags are built only when a
/// listener is attached, so an unobserved ioctl pays one flag check.
/// </summary>
public static class IommufdMetrics
{
    public const string MeterName = "Iommufd.Core";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Lock MemoriesLock = new(); // guards Memories
    private static readonly List<WeakReference<PhysicalMemory>> Memories = [];

    /// <summary><c>iommufd.ioctls</c>: raw ioctls, tagged <c>command</c> and <c>errno</c>.</summary>
    internal static readonly Counter<long> Ioctls = Meter.CreateCounter<long>("iommufd.ioctls", description: "Raw iommufd ioctls by command and result");

    /// <summary><c>iommufd.objects</c>: objects in every file's table, tagged <c>type</c>.</summary>
    internal static readonly UpDownCounter<long> Objects = Meter.CreateUpDownCounter<long>("iommufd.objects", unit: "{object}", description: "Live iommufd objects by type");

    /// <summary><c>iommufd.pinned_pages</c>: user pages an IOAS mapping or a HW queue pins.</summary>
    internal static readonly UpDownCounter<long> PinnedPages = Meter.CreateUpDownCounter<long>("iommufd.pinned_pages", unit: "{page}", description: "User pages pinned by IOAS mappings and HW queues");

    /// <summary><c>iommufd.mmaps</c>: live mmaps of iommufd files.</summary>
    internal static readonly UpDownCounter<long> Mmaps = Meter.CreateUpDownCounter<long>("iommufd.mmaps", unit: "{mapping}", description: "Live mmaps of iommufd files");

    /// <summary><c>iommufd.frames</c>: physical frames present on every host's machine.</summary>
    internal static readonly ObservableGauge<long> Frames = Meter.CreateObservableGauge("iommufd.frames", ObserveFrames, unit: "{frame}", description: "Physical frames present");

    // Tag values are the kernel's names ("IOMMU_IOAS_MAP", "EINVAL"), made once, so a recorded ioctl allocates nothing.
    private static readonly string?[] CommandNames = BuildCommandNames();
    private static readonly string?[] ErrnoNames = BuildErrnoNames();

    internal static void RecordIoctl(string command, Errno result)
    {
        if (Ioctls.Enabled)
        {
            Ioctls.Add(1, new KeyValuePair<string, object?>("command", command), new KeyValuePair<string, object?>("errno", ErrnoName(result)));
        }
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

    internal static void ObjectAdded(IommufdObjectType type) => RecordObject(type, 1);

    internal static void ObjectDestroyed(IommufdObjectType type) => RecordObject(type, -1);

    internal static void Pinned(long pages)
    {
        if (PinnedPages.Enabled)
        {
            PinnedPages.Add(pages);
        }
    }

    internal static void Mapped(int delta)
    {
        if (Mmaps.Enabled)
        {
            Mmaps.Add(delta);
        }
    }

    /// <summary>Adds a machine's physical memory to <c>iommufd.frames</c> for as long as it lives.</summary>
    internal static void Track(PhysicalMemory memory)
    {
        lock (MemoriesLock)
        {
            Memories.RemoveAll(w => !w.TryGetTarget(out _));
            Memories.Add(new WeakReference<PhysicalMemory>(memory));
        }
    }

    private static void RecordObject(IommufdObjectType type, int delta)
    {
        if (Objects.Enabled)
        {
            Objects.Add(delta, new KeyValuePair<string, object?>("type", type.ToString()));
        }
    }

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

    private static long ObserveFrames()
    {
        long frames = 0;
        lock (MemoriesLock)
        {
            foreach (var weak in Memories)
            {
                if (weak.TryGetTarget(out var memory))
                {
                    frames += memory.FrameCount;
                }
            }
        }

        return frames;
    }
}
