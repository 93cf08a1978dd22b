using Iommufd.Core.Driver;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

/// <summary>
/// A live <c>mmap</c> of a region a vIOMMU registered (a Tegra241 VINTF page, the mock's pages). While it is
/// mapped its vIOMMU cannot be destroyed (EBUSY). <see cref="Dispose"/> unmaps it and releases everything the
/// mapping held at once, not when the file closes.
/// </summary>
/// <remarks>
/// Accesses may race the unmap from other threads: each access counts itself while it runs and the unmap waits for
/// those in progress, so once <see cref="Dispose"/> returns no access touches the region (as munmap returns only
/// after the pages are gone from every thread's view). An access after the unmap is the caller's bug (SIGSEGV on
/// Linux) and throws <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed class MmioMapping : IMmioRegion, IDisposable
{
    private readonly IMmioRegion _region;
    private readonly IommufdFile _file;
    private ViommuObject? _owner;
    private int _accessesInFlight;

    internal MmioMapping(IommufdFile file, ViommuObject owner, IMmioRegion region, ulong offset)
    {
        _file = file;
        _owner = owner;
        _region = region;
        Offset = offset;
    }

    /// <summary>The mmap offset on the iommufd file.</summary>
    public ulong Offset { get; }

    /// <summary>Length in bytes.</summary>
    public ulong Length => _region.Length;

    /// <summary>The bytes from the start that hold registers or memory (see <see cref="IMmioRegion.RegisterLength"/>).</summary>
    public ulong RegisterLength => _region.RegisterLength;

    /// <summary>True until <see cref="Dispose"/>.</summary>
    public bool IsMapped => Volatile.Read(ref _owner) is not null;

    /// <summary>
    /// Reads the 32-bit register at <paramref name="offset"/>; throws <see cref="ObjectDisposedException"/> after the
    /// unmap.
    /// </summary>
    public uint Read32(ulong offset)
    {
        Enter(offset, 4);
        try
        {
            return (uint)_region.Read(offset, 4);
        }
        finally
        {
            Interlocked.Decrement(ref _accessesInFlight);
        }
    }

    /// <summary>
    /// Reads the 64-bit register at <paramref name="offset"/>; throws <see cref="ObjectDisposedException"/> after the
    /// unmap.
    /// </summary>
    public ulong Read64(ulong offset)
    {
        Enter(offset, 8);
        try
        {
            return _region.Read(offset, 8);
        }
        finally
        {
            Interlocked.Decrement(ref _accessesInFlight);
        }
    }

    /// <summary>
    /// Writes the 32-bit register at <paramref name="offset"/>; throws <see cref="ObjectDisposedException"/> after the
    /// unmap.
    /// </summary>
    public void Write32(ulong offset, uint value) => Write(offset, 4, value);

    /// <summary>
    /// Writes the 64-bit register at <paramref name="offset"/>; throws <see cref="ObjectDisposedException"/> after the
    /// unmap.
    /// </summary>
    public void Write64(ulong offset, ulong value) => Write(offset, 8, value);

    /// <summary>The mapping as a region (what <see cref="Devices.PagePoller"/> polls a real page against); accesses check that it is still mapped.</summary>
    ulong IMmioRegion.Read(ulong offset, int size) => size == 8 ? Read64(offset) : Read32(offset);

    void IMmioRegion.Write(ulong offset, int size, ulong value) => Write(offset, size, size == 8 ? value : (uint)value);

    /// <summary>munmap(2): waits for accesses in progress, then drops the mapping's reference on its vIOMMU.</summary>
    public void Dispose()
    {
        var owner = Interlocked.Exchange(ref _owner, null);
        if (owner is null)
        {
            return;
        }

        var spin = default(SpinWait);
        while (Volatile.Read(ref _accessesInFlight) != 0)
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }

        _file.ForgetMapping(this);
        owner.RemoveUser();
    }

    private void Write(ulong offset, int size, ulong value)
    {
        Enter(offset, size);
        try
        {
            _region.Write(offset, size, value);
        }
        finally
        {
            Interlocked.Decrement(ref _accessesInFlight);
        }
    }

    private void Enter(ulong offset, int size)
    {
        if (offset > _region.Length - (ulong)size || (offset & (ulong)(size - 1)) != 0)
        {
            // A real access here would be SIGBUS/SIGSEGV: a bug of the caller, not an errno.
            throw new ArgumentOutOfRangeException(nameof(offset), $"0x{offset:x} is not an aligned {size}-byte access inside the mapping");
        }

        Interlocked.Increment(ref _accessesInFlight);
        if (!IsMapped)
        {
            Interlocked.Decrement(ref _accessesInFlight);
            throw new ObjectDisposedException(nameof(MmioMapping));
        }
    }
}
