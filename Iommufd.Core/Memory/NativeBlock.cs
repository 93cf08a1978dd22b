using System.Runtime.InteropServices;
using Iommufd.Core.Interop;

namespace Iommufd.Core.Memory;

/// <summary>
/// A range of the emulator's own virtual memory that backs physical frames: an anonymous mapping (committed
/// lazily by the kernel, so a 3 GiB guest RAM costs only the pages that are touched) or an alias of pages the
/// calling process pinned.
/// </summary>
/// <remarks>
/// The virtual range is never given back. <see cref="Release"/> replaces the pages with fresh zero pages that
/// are not committed until written, so a device or engine thread that still holds a span of freed frames writes
/// into harmless memory instead of faulting — the emulator's stand-in for the kernel keeping a page until the
/// last reference to it goes.
/// </remarks>
internal sealed unsafe class NativeBlock
{
    private int _released;

    private NativeBlock(byte* pointer, ulong length)
    {
        Pointer = pointer;
        Length = length;
    }

    /// <summary>First byte.</summary>
    public byte* Pointer { get; }

    /// <summary>Length in bytes (whole pages).</summary>
    public ulong Length { get; }

    /// <summary>Zeroed, lazily committed memory.</summary>
    public static NativeBlock Allocate(ulong length) => new(Map(0, length, Libc.PROT_READ | Libc.PROT_WRITE, 0), length);

    /// <summary>An inaccessible reservation that pieces are mapped into with MAP_FIXED.</summary>
    public static NativeBlock Reserve(ulong length) => new(Map(0, length, Libc.PROT_NONE, 0), length);

    /// <summary>The bytes [<paramref name="offset"/>, +<paramref name="length"/>).</summary>
    public Span<byte> Slice(ulong offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + (ulong)length, Length);
        return new Span<byte>(Pointer + offset, length);
    }

    /// <summary>Drops the pages (memory goes back to the system; the range reads as zeros from now on).</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Map((nint)Pointer, Length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_FIXED);
        }
    }

    private static byte* Map(nint at, ulong length, int protection, int extraFlags)
    {
        nint p = Libc.Mmap(at, (nuint)length, protection, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE | extraFlags, -1, 0);
        if (p == Libc.MapFailed)
        {
            throw new InsufficientMemoryException($"mmap of {length} bytes failed (errno {Marshal.GetLastPInvokeError()})");
        }

        return (byte*)p;
    }
}
