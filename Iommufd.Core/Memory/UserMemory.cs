using Iommufd.Core.Diagnostics;
using Iommufd.Core.Interop;

namespace Iommufd.Core.Memory;

/// <summary>
/// The address space of one VMM process. Pointer fields of ioctl structs (<c>data_uptr</c>, <c>user_va</c>,
/// <c>allowed_iovas</c>) are addresses in it. An address the process cannot access is a fault (EFAULT), never a
/// crash. Two kinds exist: an emulated process (C# VMMs and tests map regions with <see cref="Map"/>), and the
/// real process the emulator runs in (<see cref="ForCallingProcess"/>: a native program that loaded the library).
/// </summary>
/// <remarks>
/// In an emulated process, regions are kept in an immutable sorted array that is replaced on map and unmap, so
/// the lookups every ioctl makes take no lock. A range must lie inside one region; regions are never adjacent (a
/// guard gap separates them), as if each were its own VMA. In the calling process, spans are copies made with
/// copy_from_user semantics (<see cref="CallerAddressSpace"/>) and output goes back through
/// <see cref="UserSpan.Commit"/>; <see cref="TryFind"/> pins the pages into a region of their own.
/// </remarks>
public sealed class UserMemory
{
    /// <summary>Where the first region is placed, like the top-down mmap area of a 64-bit process.</summary>
    public const ulong MmapBase = 0x7f00_0000_0000;

    private readonly PhysicalMemory _physical;
    private readonly Lock _lock = new(); // guards writers of _regions and _next
    private UserRegion[] _regions = [];
    private readonly List<UserRegion> _callerPins = []; // the calling process: regions TryFind pinned, until released
    private ulong _next = MmapBase;
    private readonly Dictionary<int, MemoryFile> _files = []; // the process's memfds by fd; guarded by _lock

    // The calling process is one process of one user however many files open it: one count of each.
    private static readonly UserAccount s_callerUser = new();
    private static readonly UserAccount s_callerMm = new();
    private static readonly Lazy<ulong> s_callerCapabilities = new(ReadEffectiveCapabilities);

    private const int CapIpcLockBit = 14; // include/uapi/linux/capability.h CAP_IPC_LOCK
    private const int CapSysResourceBit = 24; // CAP_SYS_RESOURCE

    private readonly UserAccount _mm; // mm->locked_vm, what IOPT_PAGES_ACCOUNT_MM charges
    private long _pinnedPages; // mm->pinned_vm
    private ulong _memlockLimit = ulong.MaxValue;
    private bool _capIpcLock;
    private bool _capSysResource = true;

    /// <summary>A new emulated process of <paramref name="user"/> (a user of its own when null).</summary>
    public UserMemory(PhysicalMemory physical, UserAccount? user = null)
        : this(physical, callingProcess: false, user ?? new UserAccount(), new UserAccount())
    {
    }

    private UserMemory(PhysicalMemory physical, bool callingProcess, UserAccount user, UserAccount mm)
    {
        ArgumentNullException.ThrowIfNull(physical);
        _physical = physical;
        IsCallingProcess = callingProcess;
        User = user;
        _mm = mm;
    }

    /// <summary>The real address space of the process the emulator runs in: user pointers are its own addresses.</summary>
    public static UserMemory ForCallingProcess(PhysicalMemory physical) => new(physical, callingProcess: true, s_callerUser, s_callerMm);

    /// <summary>The user the process runs as: IOMMU_OPTION_RLIMIT_MODE 0 charges pinned pages to it.</summary>
    public UserAccount User { get; }

    /// <summary>Pages pinned and charged to the process itself (mm->locked_vm, IOMMU_OPTION_RLIMIT_MODE 1).</summary>
    public long LockedPages => _mm.LockedPages;

    /// <summary>Pages IOASes pin for this process, however they are charged (mm->pinned_vm).</summary>
    public long PinnedPages => Volatile.Read(ref _pinnedPages);

    /// <summary>
    /// RLIMIT_MEMLOCK in bytes (<see cref="ulong.MaxValue"/>, RLIM_INFINITY, unless set). A pin that would take the
    /// pages charged past it is ENOMEM. The calling process's is its real soft limit and cannot be set here.
    /// </summary>
    public ulong MemlockLimit
    {
        get => IsCallingProcess ? ReadCallerMemlockLimit() : Volatile.Read(ref _memlockLimit);
        set
        {
            ThrowIfCallingProcess();
            Volatile.Write(ref _memlockLimit, value);
        }
    }

    /// <summary>
    /// CAP_IPC_LOCK (false unless set): pages the process maps while it has it are not charged at all (pages.c
    /// iopt_alloc_pages()). The calling process's is its real effective capability.
    /// </summary>
    public bool CapIpcLock
    {
        get => IsCallingProcess ? (s_callerCapabilities.Value & (1UL << CapIpcLockBit)) != 0 : Volatile.Read(ref _capIpcLock);
        set
        {
            ThrowIfCallingProcess();
            Volatile.Write(ref _capIpcLock, value);
        }
    }

    /// <summary>
    /// CAP_SYS_RESOURCE (true unless cleared): IOMMU_OPTION_RLIMIT_MODE SET needs it (EPERM). The calling process's is
    /// its real effective capability.
    /// </summary>
    public bool CapSysResource
    {
        get => IsCallingProcess ? (s_callerCapabilities.Value & (1UL << CapSysResourceBit)) != 0 : Volatile.Read(ref _capSysResource);
        set
        {
            ThrowIfCallingProcess();
            Volatile.Write(ref _capSysResource, value);
        }
    }

    /// <summary>True for the real address space of the calling process (see <see cref="ForCallingProcess"/>).</summary>
    public bool IsCallingProcess { get; }

    /// <summary>Live regions, sorted by address.</summary>
    public IReadOnlyList<UserRegion> Regions => Volatile.Read(ref _regions);

    /// <summary>
    /// Maps <paramref name="length"/> zeroed bytes (rounded up to pages). With <paramref name="contiguous"/> the
    /// pages are physically contiguous, as if backed by a huge page; otherwise each page sits alone.
    /// <paramref name="readOnly"/> maps it without PROT_WRITE (see <see cref="UserRegion.ReadOnly"/>).
    /// </summary>
    public UserRegion Map(long length, bool contiguous = true, bool readOnly = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ThrowIfCallingProcess();
        var backing = NativeBlock.Allocate((ulong)PhysicalMemory.RoundUpToPage(length));
        var banks = _physical.Place(backing, contiguous);
        lock (_lock)
        {
            var region = new UserRegion(_next, backing, banks, contiguous) { ReadOnly = readOnly };
            _next += backing.Length + PhysicalMemory.PageSize; // a guard page after each region
            var regions = new UserRegion[_regions.Length + 1];
            _regions.CopyTo(regions, 0);
            regions[^1] = region;
            Volatile.Write(ref _regions, regions);
            return region;
        }
    }

    /// <summary>
    /// memfd_create(2): a new, empty memory file of this process, on the lowest free fd from 3. It may grow to
    /// <paramref name="maxSize"/> bytes; <see cref="MemoryFile.Dispose"/> closes it.
    /// </summary>
    public MemoryFile CreateMemfd(string name = "memfd", long maxSize = MemoryFile.DefaultMaxSize)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        ThrowIfCallingProcess();
        lock (_lock)
        {
            int fd = 3; // 0–2 are the process's standard streams
            while (_files.ContainsKey(fd))
            {
                fd++;
            }

            var file = new MemoryFile(_physical, this, fd, name, maxSize);
            _files.Add(fd, file);
            return file;
        }
    }

    /// <summary>The fds of the process's open memory files.</summary>
    public IReadOnlyList<MemoryFile> Files
    {
        get
        {
            lock (_lock)
            {
                return [.. _files.Values];
            }
        }
    }

    /// <summary>
    /// fget() of the file on <paramref name="fd"/>, with a reference the caller drops (<see cref="IMappedFile.Release"/>):
    /// false (EBADF) when the fd names none. In the calling process the fd is a real one (<see cref="CallerFile"/>).
    /// </summary>
    internal bool TryGetFile(int fd, out IMappedFile file)
    {
        if (IsCallingProcess)
        {
            return CallerFile.TryOpen(_physical, fd, out file);
        }

        lock (_lock)
        {
            if (!_files.TryGetValue(fd, out var memfd))
            {
                file = null!;
                return false;
            }

            file = memfd;
            file.AddRef();
            return true;
        }
    }

    internal void ForgetFile(MemoryFile file)
    {
        lock (_lock)
        {
            _files.Remove(file.Fd);
        }
    }

    /// <summary>
    /// Unmaps a region from the address space. Pages still pinned by an IOAS stay in physical memory until the
    /// last pin goes, as pinned pages do on Linux.
    /// </summary>
    public void Unmap(UserRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        ThrowIfCallingProcess();
        lock (_lock)
        {
            int index = Array.IndexOf(_regions, region);
            if (index < 0)
            {
                throw new ArgumentException("the region is not mapped in this address space", nameof(region));
            }

            var regions = new UserRegion[_regions.Length - 1];
            Array.Copy(_regions, 0, regions, 0, index);
            Array.Copy(_regions, index + 1, regions, index, _regions.Length - index - 1);
            Volatile.Write(ref _regions, regions);
            region.Unmapped = true;
        }

        ReleaseIfUnused(region);
    }

    /// <summary>
    /// Finds the region holding [<paramref name="address"/>, +<paramref name="length"/>). In the calling process the
    /// range (page aligned) is pinned into a new region of its own, released when its last pin goes (or by
    /// <see cref="ReleaseIfUnused"/> if it is never pinned).
    /// </summary>
    public bool TryFind(ulong address, ulong length, out UserRegion region, out ulong offset)
    {
        if (IsCallingProcess)
        {
            return TryPinCallerRange(address, length, writable: false, out region, out offset);
        }

        var regions = Volatile.Read(ref _regions);
        int lo = 0, hi = regions.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = regions[mid];
            if (address < r.Address)
            {
                hi = mid - 1;
            }
            else if (address - r.Address >= r.Length)
            {
                lo = mid + 1;
            }
            else
            {
                offset = address - r.Address;
                if (length > r.Length - offset)
                {
                    break;
                }

                region = r;
                return true;
            }
        }

        region = null!;
        offset = 0;
        return false;
    }

    /// <summary>
    /// The bytes at [<paramref name="address"/>, +<paramref name="length"/>), or false (EFAULT) when any of them is
    /// outside a live region.
    /// </summary>
    public bool TryGetSpan(ulong address, ulong length, out Span<byte> span)
    {
        if (length == 0)
        {
            span = default;
            return address != 0 || length == 0;
        }

        if (IsCallingProcess)
        {
            span = CallerAddressSpace.CopyInPrefix(address, length);
            return (ulong)span.Length == length;
        }

        if (length > int.MaxValue || !TryFind(address, length, out var region, out ulong offset))
        {
            span = default;
            return false;
        }

        span = region.Slice(offset, (int)length);
        return true;
    }

    /// <summary>
    /// The longest accessible prefix of [<paramref name="address"/>, +<paramref name="length"/>): what a
    /// <c>copy_from_user</c> of the range would manage before faulting.
    /// </summary>
    public Span<byte> GetAccessiblePrefix(ulong address, ulong length)
    {
        if (IsCallingProcess)
        {
            return length == 0 ? default : CallerAddressSpace.CopyInPrefix(address, length);
        }

        if (length == 0 || !TryFind(address, 1, out var region, out ulong offset))
        {
            return default;
        }

        ulong available = Math.Min(Math.Min(length, region.Length - offset), int.MaxValue);
        return region.Slice(offset, (int)available);
    }

    /// <summary>
    /// copy_to_user of <paramref name="bytes"/> to [<paramref name="address"/>, +length): false (EFAULT) unless
    /// every byte landed.
    /// </summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> bytes)
    {
        if (IsCallingProcess)
        {
            return CallerAddressSpace.CopyOut(address, bytes);
        }

        if (!TryGetSpan(address, (ulong)bytes.Length, out var target))
        {
            return false;
        }

        bytes.CopyTo(target);
        return true;
    }

    /// <summary>
    /// copy_to_user of bytes an ioctl produced in a span this address space handed out: a no-op for an emulated
    /// process (the span is the memory), a copy into the caller's memory otherwise; false is EFAULT.
    /// </summary>
    internal bool CopyBack(ulong address, ReadOnlySpan<byte> bytes) =>
        !IsCallingProcess || CallerAddressSpace.CopyOut(address, bytes);

    /// <summary>Starts an ioctl: the copies the previous one made on this thread may be reused.</summary>
    internal void BeginCall()
    {
        if (IsCallingProcess)
        {
            CallerAddressSpace.BeginCall();
        }
    }

    /// <summary>Gives an unmapped (or never pinned caller) region's memory back once nothing pins it.</summary>
    internal void ReleaseIfUnused(UserRegion region)
    {
        if (region.Unmapped && !region.IsPinned)
        {
            if (IsCallingProcess)
            {
                lock (_lock)
                {
                    _callerPins.Remove(region);
                }
            }

            region.Release(_physical);
        }
    }

    /// <summary>
    /// The physical address of the page under <paramref name="userVa"/>, as get_user_pages() finds it (false: not
    /// mapped). In the calling process a page some pin holds is that pin's frame, so that two lookups of the same
    /// page agree, as struct pages do; a page nothing pins gets a frame of its own for the lookup.
    /// </summary>
    public bool TryGetPhysicalAddress(ulong userVa, out ulong physicalAddress)
    {
        physicalAddress = 0;
        if (IsCallingProcess)
        {
            lock (_lock)
            {
                foreach (var pinned in _callerPins)
                {
                    if (pinned.IsPinned && userVa - pinned.Address < pinned.Length)
                    {
                        physicalAddress = pinned.PhysicalAddressAt(userVa - pinned.Address);
                        return true;
                    }
                }
            }
        }

        ulong page = userVa & ~(ulong)(PhysicalMemory.PageSize - 1);
        if (!TryFind(page, PhysicalMemory.PageSize, out var region, out ulong offset))
        {
            return false;
        }

        physicalAddress = region.PhysicalAddressAt(offset + (userVa - page));
        ReleaseIfUnused(region);
        return true;
    }

    /// <summary>
    /// Charges <paramref name="pages"/> newly pinned pages (pages.c iopt_pages_update_pinned()): to the user with
    /// incr_user_locked_vm() or to this process with __account_locked_vm(); past RLIMIT_MEMLOCK either is ENOMEM and
    /// nothing is charged. mm->pinned_vm counts them in every mode.
    /// </summary>
    internal Errno ChargePinned(ulong pages, PinAccounting mode)
    {
        if (mode != PinAccounting.None)
        {
            ulong limit = MemlockLimit >> PhysicalMemory.PageShift;
            ref long counter = ref (mode == PinAccounting.User ? User : _mm).Counter;
            long current = Volatile.Read(ref counter);
            while (true)
            {
                ulong wanted = (ulong)current + pages;
                if (wanted > limit || wanted < pages)
                {
                    return Refusal.Because(Errno.ENOMEM, $"pinning {pages} pages takes the {(mode == PinAccounting.User ? "user's" : "process's")} locked pages from {current} to {wanted}, past RLIMIT_MEMLOCK ({limit} pages)");
                }

                long seen = Interlocked.CompareExchange(ref counter, (long)wanted, current);
                if (seen == current)
                {
                    break;
                }

                current = seen;
            }
        }

        Interlocked.Add(ref _pinnedPages, (long)pages);
        return Errno.Success;
    }

    /// <summary>Gives back what <see cref="ChargePinned"/> charged (decr_user_locked_vm(), __account_locked_vm()).</summary>
    internal void UnchargePinned(ulong pages, PinAccounting mode)
    {
        if (mode != PinAccounting.None)
        {
            Interlocked.Add(ref (mode == PinAccounting.User ? User : _mm).Counter, -(long)pages);
        }

        Interlocked.Add(ref _pinnedPages, -(long)pages);
    }

    private static unsafe ulong ReadCallerMemlockLimit()
    {
        var limits = stackalloc ulong[2];
        return Libc.Getrlimit(Libc.RLIMIT_MEMLOCK, limits) == 0 ? limits[0] : ulong.MaxValue;
    }

    /// <summary>CapEff of /proc/self/status: the capabilities the calling process has.</summary>
    private static ulong ReadEffectiveCapabilities()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                {
                    return ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>
    /// The pages of [<paramref name="address"/>, +<paramref name="length"/>) (page aligned) for a pin, as
    /// pin_user_pages() takes them: false (EFAULT) when the process does not have them mapped, or with
    /// <paramref name="writable"/> (FOLL_WRITE) mapped without write permission.
    /// </summary>
    internal bool TryFindForPin(ulong address, ulong length, bool writable, out UserRegion region, out ulong offset)
    {
        if (IsCallingProcess)
        {
            return TryPinCallerRange(address, length, writable, out region, out offset);
        }

        return TryFind(address, length, out region, out offset) && !(writable && region.ReadOnly);
    }

    private bool TryPinCallerRange(ulong address, ulong length, bool writable, out UserRegion region, out ulong offset)
    {
        region = null!;
        offset = 0;
        const ulong PageMask = PhysicalMemory.PageSize - 1;
        if (length == 0 || ((address | length) & PageMask) != 0 || address + length < address
            || CallerAddressSpace.TryPin(address, length, writable, out var view) != Errno.Success)
        {
            return false;
        }

        region = new UserRegion(address, view, _physical.Place(view, contiguous: true), contiguous: true) { Unmapped = true };
        lock (_lock)
        {
            _callerPins.Add(region);
        }

        return true;
    }

    private void ThrowIfCallingProcess()
    {
        if (IsCallingProcess)
        {
            throw new InvalidOperationException("the calling process maps its own memory");
        }
    }
}
