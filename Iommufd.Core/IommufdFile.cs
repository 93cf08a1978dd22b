using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Iommufd.Core.Devices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Hwpt;
using Iommufd.Core.Ioas;
using Iommufd.Core.Memory;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;
using Microsoft.Extensions.Logging;

namespace Iommufd.Core;

/// <summary>
/// One open <c>/dev/iommu</c> (drivers/iommu/iommufd/main.c): the file, its object table, its event fds and mmaps.
/// <see cref="Ioctl(uint, Span{byte})"/> takes the Linux request numbers and struct bytes and dispatches through the
/// one <see cref="IoctlTable"/>; the typed methods (one per command, spans instead of user pointers) share the same
/// handlers. Each object kind's commands, raw and typed, live in one home, as the kernel's files are laid out:
/// <see cref="IoasCommands"/> (ioas.c), <see cref="DeviceCommands"/> (device.c), <see cref="HwptCommands"/>
/// (hw_pagetable.c), <see cref="ViommuCommands"/> (viommu.c), <see cref="EventqCommands"/> (eventq.c),
/// <see cref="HwQueueCommands"/>, <see cref="AccessCommands"/>, <see cref="VfioCompatCommands"/> (vfio_compat.c) and
/// <see cref="SelftestCommands"/> (selftest.c). Neither way in throws for anything the kernel answers with an errno.
/// </summary>
/// <remarks>
/// The object table, the IOAS and the vDEVICE tables are safe for concurrent ioctls from several threads; the
/// lifetime rules are on <see cref="ObjectTable"/>. Disposing the file destroys every object, as closing the fd
/// does: calls that start afterwards answer EBADF, calls in flight are waited for first.
/// </remarks>
public sealed class IommufdFile : IDisposable
{
    // IOMMU_VFIO_IOAS: the compat IOAS itself, not its ID, since a destroyed IOAS's ID is handed out again and the
    // kernel forgets the compat IOAS when it is destroyed (main.c iommufd_object_remove()). See VfioCompatCommands.
    internal IoasObject? VfioCompatIoas;

    // IOMMU_OPTION_RLIMIT_MODE: 0 per user (IOPT_PAGES_ACCOUNT_USER), 1 per mm. See IoasCommands.
    internal int AccountModeMm;

    // The context IOMMU_TEST_CMD lends its plugin, made on first use. See SelftestCommands.
    internal ISelftestContext? SelftestContext;

    private readonly Lock _fdLock = new(); // guards _files and _mappings
    private readonly Dictionary<int, IEventFile> _files = [];
    private readonly HashSet<MmioMapping> _mappings = [];
    private readonly ILogger _logger;
    private int _disposed;
    private int _callsInFlight; // calls in flight that a thread's CallMarks slot does not hold (nested on a second file)

    internal IommufdFile(Platform platform, UserMemory memory, ILogger logger, IommufdMetrics metrics, FailNth? faults = null)
    {
        Faults = faults;
        Objects = new ObjectTable(faults, Metrics = metrics);
        Platform = platform;
        Memory = memory;
        _logger = logger;
    }

    /// <summary>The emulated machine.</summary>
    public Platform Platform { get; }

    /// <summary>The address space of the process that opened the file: user pointers resolve against it.</summary>
    public UserMemory Memory { get; }

    /// <summary>
    /// Makes the fd numbers of event files (vEVENTQs, fault queues). Unset, numbers count up from 3 within this
    /// file; the native library sets it so that each such fd is a real one that poll() can watch.
    /// </summary>
    public Func<int>? EventFdFactory { get; set; }

    /// <summary>Objects in the table, tombstones included (for leak checks).</summary>
    public int ObjectCount => Objects.Count;

    /// <summary>The file's objects (main.c: the context's object xarray); every command home looks up through it.</summary>
    internal ObjectTable Objects { get; }

    /// <summary>The fault-injection sweep's counter, if one runs.</summary>
    internal FailNth? Faults { get; }

    /// <summary>The host's instruments, for the calls on this file.</summary>
    internal IommufdMetrics Metrics { get; }

    /// <summary>The mmap regions the file's vIOMMUs registered (main.c iommufd_fops_mmap() looks them up).</summary>
    internal MmapRegistry Mmaps { get; } = new();

    /// <summary>Guards device attachments and <see cref="AutoDomains"/> (see DeviceCommands).</summary>
    internal Lock AttachLock { get; } = new();

    /// <summary>The automatic paging domains attaching a device to an IOAS made; guarded by <see cref="AttachLock"/>.</summary>
    internal List<HwptPagingObject> AutoDomains { get; } = [];

    /// <summary>The plugin that answers IOMMU_TEST_CMD, if any (the mock driver registers one).</summary>
    internal ISelftestCommands? Selftest { get; init; }

    /// <summary>Open event fds (vEVENTQs, fault queues).</summary>
    public int OpenFileCount
    {
        get
        {
            lock (_fdLock)
            {
                return _files.Count;
            }
        }
    }

    /// <summary>True once <see cref="Dispose"/> began: every call answers EBADF.</summary>
    public bool IsClosed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Live mmaps of the file (for leak checks).</summary>
    public int MappingCount
    {
        get
        {
            lock (_fdLock)
            {
                return _mappings.Count;
            }
        }
    }

    /// <summary>
    /// ioctl(2) with the argument at <paramref name="argumentAddress"/> in <see cref="Memory"/>, as a VMM calls it.
    /// An argument outside user memory is EFAULT.
    /// </summary>
    public Errno Ioctl(uint request, ulong argumentAddress) => Ioctl(request, argumentAddress, out _);

    /// <summary>
    /// ioctl(2) as <see cref="Ioctl(uint, ulong)"/>, with what a successful call returns in <paramref name="result"/>:
    /// 0, except for VFIO_GET_API_VERSION and VFIO_CHECK_EXTENSION. A number outside the iommufd table is a VFIO
    /// type1 container ioctl (<see cref="VfioCompatCommands"/>), whose argument may be a value rather than a pointer.
    /// </summary>
    public Errno Ioctl(uint request, ulong argument, out int result)
    {
        result = 0;
        Errno rc;
        string command = IommufdMetrics.CommandName(request);
        using (var call = EnterCall(command))
        {
            // main.c iommufd_fops_ioctl(): a number past the table goes to iommufd_vfio_ioctl() before anything is
            // read; otherwise get_user(size) first, then as many bytes as the caller says the struct has:
            // copy_struct_from_user checks the whole tail beyond the kernel struct, however long it is.
            rc = call.Closed ? Errno.EBADF
                : !InTable(request) ? this.VfioContainerIoctl(request, argument, out result)
                : DispatchAt(request, argument);
        }

        Metrics.RecordCall(command, rc);
        return rc;
    }

    /// <summary>Whether the request indexes the ioctl table; without a selftest plugin the table ends before IOMMU_TEST_CMD.</summary>
    private bool InTable(uint request) =>
        IoctlTable.InRange(request) && (request != Uapi.IommufdIoctl.IOMMU_TEST_CMD || Selftest is not null);

    private Errno DispatchAt(uint request, ulong argumentAddress)
    {
        // One copy covers the usual struct: a copy from the caller's memory is a system call.
        Memory.BeginCall();
        var head = Memory.GetAccessiblePrefix(argumentAddress, IoctlTable.MaxKernelSize);
        if (head.Length < sizeof(uint))
        {
            head = Memory.GetAccessiblePrefix(argumentAddress, sizeof(uint));
        }

        uint size = head.Length >= sizeof(uint) ? BinaryPrimitives.ReadUInt32LittleEndian(head) : 0;
        uint wanted = Math.Max(size, sizeof(uint));
        var prefix = head.Length >= wanted ? head[..(int)wanted] : Memory.GetAccessiblePrefix(argumentAddress, wanted);
        var rc = Dispatch(request, prefix, out int written);
        if (written > 0 && !Memory.CopyBack(argumentAddress, prefix[..written]))
        {
            if (rc == Errno.Success && request == Uapi.IommufdIoctl.IOMMU_TEST_CMD)
            {
                this.AbortTestCmd(prefix[..written]);
            }
            else if (rc == Errno.Success)
            {
                AbortAllocation(request, prefix[..written]);
            }

            rc = Errno.EFAULT; // iommufd_ucmd_respond: the copy_to_user of the struct failed
        }

        return rc;
    }

    /// <summary>
    /// The struct of a successful allocation could not be copied back: as the kernel's allocation ioctls do on a
    /// failed iommufd_ucmd_respond (iommufd_object_abort_and_destroy, and an fd reserved but never installed), the
    /// new object goes and its fd is closed.
    /// </summary>
    private void AbortAllocation(uint request, ReadOnlySpan<byte> response)
    {
        if (!IoctlTable.TryGet(request, out var command) || command.OutIdOffset < 0)
        {
            return;
        }

        if (command.OutFdOffset >= 0)
        {
            CloseFile(BinaryPrimitives.ReadInt32LittleEndian(response[command.OutFdOffset..]));
        }

        Objects.Destroy(BinaryPrimitives.ReadUInt32LittleEndian(response[command.OutIdOffset..]));
    }

    /// <summary>
    /// ioctl(2) with the argument bytes in <paramref name="argument"/>: the struct's first u32 is its size; the
    /// span is the memory the caller owns there. Output fields are written back into it. The VFIO type1 ioctls,
    /// whose arguments are user pointers or values, are answered by the address form only (ENOTTY here).
    /// </summary>
    public Errno Ioctl(uint request, Span<byte> argument)
    {
        Errno rc;
        string command = IommufdMetrics.CommandName(request);
        using (var call = EnterCall(command))
        {
            rc = call.Closed ? Errno.EBADF : Dispatch(request, argument, out _);
        }

        Metrics.RecordCall(command, rc);
        return rc;
    }

    private Errno Dispatch(uint request, Span<byte> argument, out int written)
    {
        written = 0;

        // main.c iommufd_fops_ioctl(): a number in the table's range reads the size (EFAULT) before the request is
        // matched against the table entry (ENOIOCTLCMD, which userspace sees as ENOTTY).
        if (!InTable(request))
        {
            return Errno.ENOTTY;
        }

        if (argument.Length < sizeof(uint))
        {
            return Errno.EFAULT;
        }

        if (!IoctlTable.TryGet(request, out var command))
        {
            return Errno.ENOTTY;
        }

        uint size = BinaryPrimitives.ReadUInt32LittleEndian(argument);
        if (size < command.MinSize)
        {
            return Refusal.Because(Errno.EINVAL, $"size {size} is below the {command.MinSize} bytes of the struct's first version");
        }

        if ((ulong)argument.Length < size)
        {
            return Errno.EFAULT;
        }

        // copy_struct_from_user: a shorter struct is zero-filled, a longer one must have a zero tail.
        Span<byte> kernel = stackalloc byte[IoctlTable.MaxKernelSize];
        kernel = kernel[..command.Size];
        kernel.Clear();
        int common = (int)Math.Min(size, (uint)command.Size);
        argument[..common].CopyTo(kernel);
        if (size > command.Size && argument[command.Size..(int)size].ContainsAnyExcept((byte)0))
        {
            return Refusal.Because(Errno.E2BIG, $"size {size} has non-zero bytes beyond the {command.Size} this kernel knows");
        }

        bool respond = false;
        var rc = command.Handler(this, kernel, ref respond);
        if (respond)
        {
            kernel[..common].CopyTo(argument);
            written = common;
        }

        return rc;
    }

    /// <summary>IOMMU_DESTROY: destroys any object nothing depends on (EBUSY otherwise, ENOENT if unknown).</summary>
    public Errno Destroy(uint id)
    {
        using var call = EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        var rc = Objects.Destroy(id);
        if (rc == Errno.Success)
        {
            Log.ObjectDestroyed(_logger, id);
            PagePoller.Refresh(); // registers the destroy reset (a HW queue's VCMDQ_CONFIG) show in the program's pages before it stores again
        }

        return call.Done(rc);
    }

    /// <summary>IOMMU_DESTROY (main.c iommufd_destroy()).</summary>
    internal Errno RawDestroy(ref IommuDestroy cmd) => Destroy(cmd.Id);

    /// <summary>read(2) on an fd an ioctl returned. Never blocks; 0 bytes means nothing to read.</summary>
    public Errno Read(int fd, Span<byte> buffer, out int count, long position = 0)
    {
        count = 0;
        using var call = EnterFileCall(fd);
        return call.Done(call.File is null ? Errno.EBADF : call.File.Read(buffer, position, out count));
    }

    /// <summary>write(2) on an fd an ioctl returned (fault-queue responses).</summary>
    public Errno Write(int fd, ReadOnlySpan<byte> buffer, out int count, long position = 0)
    {
        count = 0;
        using var call = EnterFileCall(fd);
        return call.Done(call.File is null ? Errno.EBADF : call.File.Write(buffer, position, out count));
    }

    /// <summary>close(2) on an fd an ioctl returned.</summary>
    public Errno Close(int fd)
    {
        using var call = EnterCall();
        return call.Done(call.Closed ? Errno.EBADF : CloseFile(fd));
    }

    private Errno CloseFile(int fd)
    {
        IEventFile? file;
        lock (_fdLock)
        {
            if (!_files.Remove(fd, out file))
            {
                return Errno.EBADF;
            }
        }

        file.Close();
        return Errno.Success;
    }

    /// <summary>
    /// mmap(2) on the iommufd file: maps a region a vIOMMU registered. As the syscall does, an offset off a page is
    /// EINVAL, a length of 0 EINVAL, and the length is rounded up to whole pages (ENOMEM if that wraps; mm/mmap.c
    /// do_mmap()); then main.c iommufd_fops_mmap(): the mapping must be shared (EINVAL) and not executable (EPERM),
    /// and the offset and rounded length exactly the registered ones (ENXIO).
    /// </summary>
    public Errno Mmap(ulong offset, ulong length, MmapProtection protection, out MmioMapping mapping)
    {
        mapping = null!;
        using var call = EnterCall();
        if (call.Closed)
        {
            return call.Done(Errno.EBADF);
        }

        if ((offset & (PhysicalMemory.PageSize - 1)) != 0 || length == 0)
        {
            return call.Done(Refusal.Because(Errno.EINVAL, $"offset 0x{offset:x} is off a page or length is 0"));
        }

        if (length > ulong.MaxValue - (PhysicalMemory.PageSize - 1))
        {
            return call.Done(Refusal.Because(Errno.ENOMEM, $"length 0x{length:x} wraps when rounded up to pages"));
        }

        length = (length + PhysicalMemory.PageSize - 1) & ~((ulong)PhysicalMemory.PageSize - 1);
        if ((protection & MmapProtection.Shared) == 0)
        {
            return call.Done(Refusal.Because(Errno.EINVAL, $"the mapping is not MAP_SHARED"));
        }

        if ((protection & MmapProtection.Exec) != 0)
        {
            return call.Done(Refusal.Because(Errno.EPERM, $"the mapping asks for PROT_EXEC"));
        }

        var rc = Mmaps.Map(offset, length, out var owner, out var region);
        if (rc != Errno.Success)
        {
            return call.Done(rc);
        }

        mapping = new MmioMapping(this, owner, region, offset);
        lock (_fdLock)
        {
            _mappings.Add(mapping);
        }

        Metrics.Mapped(1);

        return call.Done(Errno.Success);
    }

    /// <summary>
    /// Closes the file: new calls answer EBADF from now on; once the calls in flight have returned, it unmaps, closes
    /// its fds, unbinds its devices and destroys every object.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        CallMarks.WaitForNone(this);
        var spin = default(SpinWait);
        while (Volatile.Read(ref _callsInFlight) != 0)
        {
            spin.SpinOnce(sleep1Threshold: 50);
        }

        int[] fds;
        MmioMapping[] mappings;
        lock (_fdLock)
        {
            fds = [.. _files.Keys];
            mappings = [.. _mappings];
            _mappings.Clear();
        }

        foreach (var fd in fds)
        {
            CloseFile(fd);
        }

        foreach (var m in mappings)
        {
            m.Dispose();
        }

        this.UnbindAll();
        int destroyed = Objects.DestroyAll(out int left);
        lock (AttachLock)
        {
            AutoDomains.Clear();
        }

        if (left > 0)
        {
            Log.ObjectsLeftAtClose(_logger, left);
        }

        Log.FileClosed(_logger, destroyed);
    }

    /// <summary>munmap of <paramref name="mapping"/>: the file forgets it at once.</summary>
    internal void ForgetMapping(MmioMapping mapping)
    {
        lock (_fdLock)
        {
            _mappings.Remove(mapping);
        }

        Metrics.Mapped(-1);
    }

    /// <summary>A fault-injection point for the allocation of a new object (ENOMEM), before any side effect.</summary>
    internal bool AllocationFails() => Faults?.ShouldFail() == true;

    internal int AddFile(IEventFile file)
    {
        var factory = EventFdFactory;
        lock (_fdLock)
        {
            if (factory is not null)
            {
                int real = factory();
                _files.Add(real, file);
                return real;
            }

            int fd = 3; // 0–2 are the process's standard streams
            while (_files.ContainsKey(fd))
            {
                fd++;
            }

            _files.Add(fd, file);
            return fd;
        }
    }

    /// <summary>
    /// fget(2) of an event fd: the file and a user reference on its object, so that a close racing the call cannot
    /// let its object be destroyed under it. Release with <see cref="PutFile"/>.
    /// </summary>
    internal bool TryGetFile(int fd, out IEventFile file)
    {
        lock (_fdLock)
        {
            if (!_files.TryGetValue(fd, out file!))
            {
                return false;
            }

            ((IommufdObject)file).AddUser(); // the fd's own reference keeps it alive while we hold _fdLock
            return true;
        }
    }

    /// <summary>fdget of an event fd without a reference of its own: for callers whose object the fd cannot lose under them.</summary>
    internal bool TryFindFile(int fd, out IEventFile file)
    {
        lock (_fdLock)
        {
            return _files.TryGetValue(fd, out file!);
        }
    }

    internal static void PutFile(IEventFile file) => ((IommufdObject)file).RemoveUser();

    /// <summary>
    /// Counts a call in flight unless the file is closed (then <see cref="Call.Closed"/> is true), and traces it as
    /// <paramref name="command"/> for the reasons of its refusals (<see cref="Refusal"/>).
    /// </summary>
    internal Call EnterCall([CallerMemberName] string command = "")
    {
        // The thread's mark (a plain store) where it can have one, else the interlocked count; see CallMarks.
        var mark = CallMarks.Enter(this);
        if (mark is null)
        {
            Interlocked.Increment(ref _callsInFlight);
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            ExitCall(mark);
            return new Call(null, null, default, command, Metrics);
        }

        var trace = Refusal.Enter(_logger, command);
        return new Call(this, mark, trace, command, trace.Outermost ? Metrics : null);
    }

    private void ExitCall(CallMarks.Mark? mark)
    {
        if (mark is null)
        {
            Interlocked.Decrement(ref _callsInFlight);
        }
        else
        {
            CallMarks.Exit(mark);
        }
    }

    /// <summary>A call on one event fd: <see cref="FileCall.File"/> is null (EBADF) when the file is closed or the fd names none.</summary>
    private FileCall EnterFileCall(int fd, [CallerMemberName] string command = "")
    {
        var call = EnterCall(command);
        if (call.Closed || !TryGetFile(fd, out var file))
        {
            call.Dispose();
            return new FileCall(call, null);
        }

        return new FileCall(call, file);
    }

    /// <summary>A call in flight with a reference on an fd's event file; disposing it drops both.</summary>
    private readonly ref struct FileCall
    {
        private readonly Call _call;

        public FileCall(Call call, IEventFile? file)
        {
            _call = call;
            File = file;
        }

        public IEventFile? File { get; }

        /// <summary>Returns <paramref name="result"/>, counted as <see cref="Call.Done"/> counts it.</summary>
        public Errno Done(Errno result) => _call.Done(result);

        public void Dispose()
        {
            if (File is not null)
            {
                PutFile(File);
                _call.Dispose();
            }
        }
    }

    /// <summary>A public call in flight on the file; disposing it ends the call.</summary>
    internal readonly ref struct Call
    {
        private readonly IommufdFile? _file;
        private readonly CallMarks.Mark? _mark; // null: counted in the file's _callsInFlight
        private readonly Refusal.Scope _trace;
        private readonly string _command;
        private readonly IommufdMetrics? _metrics; // the outermost call only: a nested one is counted by its caller

        public Call(IommufdFile? file, CallMarks.Mark? mark, Refusal.Scope trace, string command, IommufdMetrics? metrics)
        {
            _file = file;
            _mark = mark;
            _trace = trace;
            _command = command;
            _metrics = metrics;
        }

        /// <summary>
        /// Returns <paramref name="result"/>, counting a typed call (<c>iommufd.ioctls</c>, api "typed") when it is the
        /// outermost on the thread; a raw ioctl counts itself, so the typed methods it runs are not counted again.
        /// </summary>
        public Errno Done(Errno result)
        {
            _metrics?.RecordCall(_command, result, raw: false);
            return result;
        }

        /// <summary>True when the file was closed before the call began: answer EBADF.</summary>
        public bool Closed => _file is null;

        public void Dispose()
        {
            if (_file is not null)
            {
                _trace.Dispose();
                _file.ExitCall(_mark);
            }
        }
    }
}
