using Iommufd.Core.Driver;
using Iommufd.Core.Viommu;

namespace Iommufd.Core;

/// <summary>
/// A live <c>mmap</c> of a region a vIOMMU registered (a Tegra241 VINTF page, the mock's pages). While it is
/// mapped its vIOMMU cannot be destroyed (EBUSY). <see cref="Dispose"/> unmaps it.
/// </summary>
public sealed class MmioMapping : IDisposable
{
    private readonly IMmioRegion _region;
    private ViommuObject? _owner;

    internal MmioMapping(ViommuObject owner, IMmioRegion region, ulong offset)
    {
        _owner = owner;
        _region = region;
        Offset = offset;
    }

    /// <summary>The mmap offset on the iommufd file.</summary>
    public ulong Offset { get; }

    /// <summary>Length in bytes.</summary>
    public ulong Length => _region.Length;

    /// <summary>True until <see cref="Dispose"/>.</summary>
    public bool IsMapped => Volatile.Read(ref _owner) is not null;

    public uint Read32(ulong offset) => (uint)Access(offset, 4).Read(offset, 4);

    public ulong Read64(ulong offset) => Access(offset, 8).Read(offset, 8);

    public void Write32(ulong offset, uint value) => Access(offset, 4).Write(offset, 4, value);

    public void Write64(ulong offset, ulong value) => Access(offset, 8).Write(offset, 8, value);

    /// <summary>munmap(2).</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _owner, null)?.RemoveUser();
    }

    private IMmioRegion Access(ulong offset, int size)
    {
        ObjectDisposedException.ThrowIf(!IsMapped, this);
        if (offset > _region.Length - (ulong)size || (offset & (ulong)(size - 1)) != 0)
        {
            // A real access here would be SIGBUS/SIGSEGV: a bug of the caller, not an errno.
            throw new ArgumentOutOfRangeException(nameof(offset), $"0x{offset:x} is not an aligned {size}-byte access inside the mapping");
        }

        return _region;
    }
}
