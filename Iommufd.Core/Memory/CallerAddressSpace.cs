using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using Iommufd.Core.Interop;

namespace Iommufd.Core.Memory;

/// <summary>
/// The real address space of the process the emulator runs in (a native program that loaded the library): user
/// pointers are its own addresses. Every access goes through <c>process_vm_readv</c>/<c>process_vm_writev</c> on
/// the own pid, which have <c>copy_from_user</c>/<c>copy_to_user</c> semantics — an unmapped, unreadable or
/// (for output) read-only page ends the copy with a short count, never a fault.
/// </summary>
/// <remarks>
/// Pinning (<see cref="TryPin"/>) is what lets DMA reach the program's memory safely: the pages stay with the
/// emulator until the pin goes, even when the program unmaps them, and the program and the device see the same
/// bytes while both map them. A shared mapping is pinned by mapping the same pages a second time (mremap with an
/// old size of 0). A private mapping has no second view, so its contents move into a memfd that then backs both
/// the program's range (same address, same protection) and the emulator's view: from then on the range behaves
/// as shared memory, which a fork()ed child shares instead of copying. Writes another thread of the program makes
/// to a private range while it is being pinned may be lost.
/// </remarks>
internal static unsafe class CallerAddressSpace
{
    /// <summary>The most one user range may bring into the kernel in one call (a larger one is EFAULT).</summary>
    public const int MaxCopy = 256 << 20;

    private const int ArenaKeep = 1 << 20;

    // getpid() is a system call on every use: the copies, two or three per ioctl, ask once. A fork() child never
    // uses this copy of the library (the shim loads a fresh one there).
    private static readonly int s_pid = Libc.Getpid();

    [ThreadStatic]
    private static byte[]? t_arena;

    /// <summary>The largest second range a call's first copy reads ahead (63 SMMUv3 invalidation entries and more).</summary>
    private const int MaxReadAhead = 16 << 10;

    [ThreadStatic]
    private static int t_used;

    // Read-ahead: a call's first copy (the ioctl struct) also reads the range the previous call on this thread
    // copied second (HWPT_INVALIDATE's entries at data_uptr), in the same process_vm_readv; when the call then asks
    // for that range, the bytes are there and the call costs one system call less. The guess is only a guess: a
    // range it does not cover, or one that faulted, is copied as usual.
    [ThreadStatic]
    private static int t_copies; // copies in this call so far

    [ThreadStatic]
    private static ulong t_guessAddress;

    [ThreadStatic]
    private static int t_guessLength; // 0: no guess

    [ThreadStatic]
    private static byte[]? t_aheadArena; // the arena that holds the read-ahead bytes

    [ThreadStatic]
    private static int t_aheadStart; // where the read-ahead bytes start in it; -1: none this call

    [ThreadStatic]
    private static int t_aheadLength; // how many bytes of the guess were read

    /// <summary>process_vm_readv/writev calls made on this thread (tests count what one ioctl costs).</summary>
    [field: ThreadStatic]
    internal static long Copies { get; private set; }

    /// <summary>Starts a system call: the copies of the previous one on this thread are no longer in use.</summary>
    public static void BeginCall()
    {
        if (t_arena is { Length: > ArenaKeep })
        {
            t_arena = null;
        }

        t_used = 0;
        t_copies = 0;
        t_aheadStart = -1;
    }

    /// <summary>
    /// Copies what <c>copy_from_user</c> would manage of [<paramref name="address"/>, +<paramref name="length"/>)
    /// into a buffer that lives until the next <see cref="BeginCall"/> on this thread.
    /// </summary>
    public static Span<byte> CopyInPrefix(ulong address, ulong length)
    {
        int copy = ++t_copies;
        int wanted = (int)Math.Min(length, MaxCopy);
        if (copy == 2 && t_aheadStart >= 0 && address == t_guessAddress && wanted <= t_aheadLength)
        {
            return t_aheadArena.AsSpan(t_aheadStart, wanted); // read ahead by the first copy
        }

        if (copy == 2)
        {
            t_guessAddress = address;
            t_guessLength = wanted <= MaxReadAhead ? wanted : 0;
        }

        var buffer = Rent(wanted);
        if (copy != 1 || t_guessLength == 0 || wanted == 0)
        {
            return buffer[..CopyIn(address, buffer)];
        }

        // The struct and the guess in one process_vm_readv: it stops at the first fault, so a struct that faults
        // reads nothing of the guess, and a guess that faults part way counts only what was read.
        var ahead = Rent(t_guessLength);
        var aheadArena = t_arena;
        int aheadStart = t_used - ahead.Length;
        nint n;
        fixed (byte* p = buffer)
        fixed (byte* q = ahead)
        {
            var local = stackalloc Libc.IoVec[2];
            var remote = stackalloc Libc.IoVec[2];
            local[0] = new Libc.IoVec { Base = p, Length = (nuint)buffer.Length };
            local[1] = new Libc.IoVec { Base = q, Length = (nuint)ahead.Length };
            remote[0] = new Libc.IoVec { Base = (void*)address, Length = (nuint)buffer.Length };
            remote[1] = new Libc.IoVec { Base = (void*)t_guessAddress, Length = (nuint)ahead.Length };
            n = Libc.ProcessVmReadv(s_pid, local, 2, remote, 2, 0);
            Copies++;
        }

        int read = n < 0 ? 0 : (int)n;
        if (read > buffer.Length)
        {
            t_aheadArena = aheadArena;
            t_aheadStart = aheadStart;
            t_aheadLength = read - buffer.Length;
        }

        return buffer[..Math.Min(read, buffer.Length)];
    }

    /// <summary>Copies from the caller's memory; returns the bytes copied before the first inaccessible page.</summary>
    public static int CopyIn(ulong address, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        fixed (byte* p = destination)
        {
            var local = new Libc.IoVec { Base = p, Length = (nuint)destination.Length };
            var remote = new Libc.IoVec { Base = (void*)address, Length = (nuint)destination.Length };
            nint n = Libc.ProcessVmReadv(s_pid, &local, 1, &remote, 1, 0);
            Copies++;
            return n < 0 ? 0 : (int)n;
        }
    }

    /// <summary>Copies into the caller's memory; false (EFAULT) unless every byte was written.</summary>
    public static bool CopyOut(ulong address, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            return true;
        }

        fixed (byte* p = source)
        {
            var local = new Libc.IoVec { Base = p, Length = (nuint)source.Length };
            var remote = new Libc.IoVec { Base = (void*)address, Length = (nuint)source.Length };
            Copies++;
            return Libc.ProcessVmWritev(s_pid, &local, 1, &remote, 1, 0) == source.Length;
        }
    }

    /// <summary>
    /// Pins [<paramref name="address"/>, +<paramref name="length"/>) (page aligned): returns the emulator's view of
    /// the same pages, or EFAULT when part of the range is not mapped readable, or with <paramref name="writable"/> not
    /// mapped writable (pin_user_pages() with FOLL_WRITE refuses a VMA without VM_WRITE: mm/gup.c check_vma_flags()).
    /// </summary>
    public static Errno TryPin(ulong address, ulong length, bool writable, out NativeBlock view)
    {
        view = null!;
        var pieces = FindMappings(address, length);
        if (pieces is null || (writable && pieces.Exists(p => !p.Writable)))
        {
            return Errno.EFAULT;
        }

        var alias = NativeBlock.Reserve(length);
        foreach (var piece in pieces)
        {
            nint at = (nint)(alias.Pointer + (piece.Start - address));
            nuint size = (nuint)(piece.End - piece.Start);
            bool ok = piece.Shared
                ? Libc.Mremap((nint)piece.Start, 0, size, Libc.MREMAP_MAYMOVE | Libc.MREMAP_FIXED, at) == at
                : MoveIntoMemfd(piece, at);
            if (!ok)
            {
                alias.Release();
                return Errno.EFAULT;
            }
        }

        view = alias;
        return Errno.Success;
    }

    private static Span<byte> Rent(int length)
    {
        if (t_arena is null || t_arena.Length - t_used < length)
        {
            // Spans of the old arena stay valid: they keep it alive until the call ends.
            t_arena = GC.AllocateUninitializedArray<byte>(Math.Max(length, 64 * 1024));
            t_used = 0;
        }

        var span = t_arena.AsSpan(t_used, length);
        t_used += length;
        return span;
    }

    private static bool MoveIntoMemfd(in Mapping piece, nint view)
    {
        ulong size = piece.End - piece.Start;
        int fd = Libc.MemfdCreate("iommufd-pinned", Libc.MFD_CLOEXEC);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            if (Libc.Ftruncate(fd, (long)size) != 0
                || Libc.Mmap(view, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_FIXED, fd, 0) != view)
            {
                return false;
            }

            if (!CopyPresentPages(piece.Start, size, (byte*)view))
            {
                return false;
            }

            int protection = (piece.Readable ? Libc.PROT_READ : 0) | (piece.Writable ? Libc.PROT_WRITE : 0);
            return Libc.Mmap((nint)piece.Start, (nuint)size, protection, Libc.MAP_SHARED | Libc.MAP_FIXED, fd, 0) == (nint)piece.Start;
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    /// <summary>
    /// Copies the pages of [start, +size) that hold data into the memfd view. Pages the program never touched
    /// (not present and not swapped, per /proc/self/pagemap) and pages of zeros are skipped, so pinning a large,
    /// mostly untouched guest RAM commits no memory for the untouched part.
    /// </summary>
    private static bool CopyPresentPages(ulong start, ulong size, byte* view)
    {
        const int Batch = 4096;
        const ulong PresentOrSwapped = 3UL << 62;
        ulong pages = size >> PhysicalMemory.PageShift;
        Span<byte> entries = stackalloc byte[Batch * 8];
        Span<byte> page = stackalloc byte[PhysicalMemory.PageSize];
        FileStream? pagemap = null;
        try
        {
            pagemap = new FileStream("/proc/self/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        using (pagemap)
        {
            for (ulong first = 0; first < pages; first += Batch)
            {
                int count = (int)Math.Min(Batch, pages - first);
                ulong va = start + (first << PhysicalMemory.PageShift);
                bool known = pagemap is not null && ReadExactly(pagemap, (long)(va >> PhysicalMemory.PageShift) * 8, entries[..(count * 8)]);
                for (int i = 0; i < count; i++)
                {
                    if (known && (BinaryPrimitives.ReadUInt64LittleEndian(entries[(i * 8)..]) & PresentOrSwapped) == 0)
                    {
                        continue;
                    }

                    ulong at = va + ((ulong)i << PhysicalMemory.PageShift);
                    if (CopyIn(at, page) != page.Length)
                    {
                        return false;
                    }

                    if (page.ContainsAnyExcept((byte)0))
                    {
                        page.CopyTo(new Span<byte>(view + (at - start), page.Length));
                    }
                }
            }
        }

        return true;
    }

    private static bool ReadExactly(FileStream stream, long offset, Span<byte> buffer)
    {
        stream.Position = offset;
        try
        {
            stream.ReadExactly(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    /// <summary>The mappings of /proc/self/maps that cover the range, clipped to it; null if any byte is not mapped readable.</summary>
    private static List<Mapping>? FindMappings(ulong address, ulong length)
    {
        ulong end = address + length;
        ulong next = address;
        var pieces = new List<Mapping>();
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            var range = fields[0].Split('-');
            ulong start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            ulong stop = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (stop <= next)
            {
                continue;
            }

            if (start > next || next >= end)
            {
                break;
            }

            string perms = fields[1];
            string path = fields.Length > 5 ? fields[5] : string.Empty;
            if (perms[0] != 'r' || path is "[vdso]" or "[vvar]" or "[vsyscall]")
            {
                return null;
            }

            var piece = new Mapping(next, Math.Min(stop, end), perms[0] == 'r', perms[1] == 'w', perms[3] == 's');
            pieces.Add(piece);
            next = piece.End;
        }

        return next >= end ? pieces : null;
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Mapping(ulong Start, ulong End, bool Readable, bool Writable, bool Shared);
}
