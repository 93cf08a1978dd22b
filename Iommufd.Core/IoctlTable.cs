using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core.Uapi;

namespace Iommufd.Core;

/// <summary>
/// The iommufd ioctl table: for each command (indexed by <c>nr − 0x80</c>) the kernel struct's size, the minimum
/// size a caller may pass (the end of the struct's first version, drivers/iommu/iommufd/main.c iommufd_ioctl_ops[]) and
/// the handler.
/// </summary>
internal static class IoctlTable
{
    /// <summary>Large enough for the biggest command struct.</summary>
    public const int MaxKernelSize = 72;

    // iommufd_ioctl_ops[] runs to IOMMU_TEST_CMD (CONFIG_IOMMUFD_TEST); the numbers between have no entry.
    private const uint TableLength = (uint)(IommufdCommand.TestCmd - IommufdCommand.Destroy) + 1;

    private static readonly Command?[] Commands = new Command?[TableLength];

    static IoctlTable()
    {
        Add(IommufdCommand.Destroy, 8, static (IommufdFile f, ref IommuDestroy c, ref bool r) => f.RawDestroy(ref c));
        Add(IommufdCommand.IoasAlloc, 12, static (IommufdFile f, ref IommuIoasAlloc c, ref bool r) => f.RawIoasAlloc(ref c, ref r), outId: nameof(IommuIoasAlloc.OutIoasId));
        Add(IommufdCommand.IoasAllowIovas, 24, static (IommufdFile f, ref IommuIoasAllowIovas c, ref bool r) => f.RawIoasAllowIovas(ref c));
        Add(IommufdCommand.IoasCopy, 40, static (IommufdFile f, ref IommuIoasCopy c, ref bool r) => f.RawIoasCopy(ref c, ref r));
        Add(IommufdCommand.IoasIovaRanges, 32, static (IommufdFile f, ref IommuIoasIovaRanges c, ref bool r) => f.RawIoasIovaRanges(ref c, ref r));
        Add(IommufdCommand.IoasMap, 40, static (IommufdFile f, ref IommuIoasMap c, ref bool r) => f.RawIoasMap(ref c, ref r));
        Add(IommufdCommand.IoasUnmap, 24, static (IommufdFile f, ref IommuIoasUnmap c, ref bool r) => f.RawIoasUnmap(ref c, ref r));
        Add(IommufdCommand.Option, 24, static (IommufdFile f, ref IommuOption c, ref bool r) => f.RawOption(ref c, ref r));
        Add(IommufdCommand.VfioIoas, 12, static (IommufdFile f, ref IommuVfioIoas c, ref bool r) => f.RawVfioIoas(ref c, ref r));
        Add(IommufdCommand.HwptAlloc, 24, static (IommufdFile f, ref IommuHwptAlloc c, ref bool r) => f.RawHwptAlloc(ref c, ref r), outId: nameof(IommuHwptAlloc.OutHwptId));
        Add(IommufdCommand.GetHwInfo, 32, static (IommufdFile f, ref IommuHwInfo c, ref bool r) => f.RawGetHwInfo(ref c, ref r));
        Add(IommufdCommand.HwptSetDirtyTracking, 16, static (IommufdFile f, ref IommuHwptSetDirtyTracking c, ref bool r) => f.RawHwptSetDirtyTracking(ref c));
        Add(IommufdCommand.HwptGetDirtyBitmap, 48, static (IommufdFile f, ref IommuHwptGetDirtyBitmap c, ref bool r) => f.RawHwptGetDirtyBitmap(ref c));
        Add(IommufdCommand.HwptInvalidate, 32, static (IommufdFile f, ref IommuHwptInvalidate c, ref bool r) => f.RawHwptInvalidate(ref c, ref r));
        Add(IommufdCommand.FaultQueueAlloc, 16, static (IommufdFile f, ref IommuFaultAlloc c, ref bool r) => f.RawFaultQueueAlloc(ref c, ref r), outId: nameof(IommuFaultAlloc.OutFaultId), outFd: nameof(IommuFaultAlloc.OutFaultFd));
        Add(IommufdCommand.IoasMapFile, 40, static (IommufdFile f, ref IommuIoasMapFile c, ref bool r) => f.RawIoasMapFile(ref c, ref r));
        Add(IommufdCommand.ViommuAlloc, 24, static (IommufdFile f, ref IommuViommuAlloc c, ref bool r) => f.RawViommuAlloc(ref c, ref r), outId: nameof(IommuViommuAlloc.OutViommuId));
        Add(IommufdCommand.VdeviceAlloc, 24, static (IommufdFile f, ref IommuVdeviceAlloc c, ref bool r) => f.RawVdeviceAlloc(ref c, ref r), outId: nameof(IommuVdeviceAlloc.OutVdeviceId));
        Add(IommufdCommand.IoasChangeProcess, 8, static (IommufdFile f, ref IommuIoasChangeProcess c, ref bool r) => f.RawIoasChangeProcess(ref c));
        Add(IommufdCommand.VeventqAlloc, 28, static (IommufdFile f, ref IommuVeventqAlloc c, ref bool r) => f.RawVeventqAlloc(ref c, ref r), outId: nameof(IommuVeventqAlloc.OutVeventqId), outFd: nameof(IommuVeventqAlloc.OutVeventqFd));
        Add(IommufdCommand.HwQueueAlloc, 40, static (IommufdFile f, ref IommuHwQueueAlloc c, ref bool r) => f.RawHwQueueAlloc(ref c, ref r), outId: nameof(IommuHwQueueAlloc.OutHwQueueId));
        Add(IommufdCommand.TestCmd, 68, static (IommufdFile f, ref IommuTestCmd c, ref bool r) => f.RawTestCmd(ref c, ref r));
    }

    /// <summary>Runs a command on the kernel copy of its struct; sets <c>respond</c> to copy the struct back.</summary>
    public delegate Errno Handler(IommufdFile file, Span<byte> command, ref bool respond);

    private delegate Errno TypedHandler<T>(IommufdFile file, ref T command, ref bool respond)
        where T : unmanaged;

    /// <summary>
    /// True when the request's number (<c>_IOC_NR</c>, whatever its type and direction bits) indexes the table, so
    /// that the kernel reads the argument's size before it compares the request (main.c iommufd_fops_ioctl()).
    /// </summary>
    public static bool InRange(uint request) =>
        (request & 0xFF) >= IommufdIoctl.CmdBase && (request & 0xFF) - IommufdIoctl.CmdBase < TableLength;

    /// <summary>Finds the command for an ioctl request number (<c>_IO(';', nr)</c>).</summary>
    public static bool TryGet(uint request, out Command command)
    {
        uint nr = request & 0xFF;
        if ((request & ~0xFFu) != IommufdIoctl.Type << 8 || nr < IommufdIoctl.CmdBase
            || nr - IommufdIoctl.CmdBase >= Commands.Length || Commands[nr - IommufdIoctl.CmdBase] is not { } c)
        {
            command = default;
            return false;
        }

        command = c;
        return true;
    }

    /// <summary>The command table, for tests that sweep every command.</summary>
    public static IEnumerable<(IommufdCommand Command, Command Entry)> All =>
        Commands.Select((c, i) => ((IommufdCommand)(IommufdIoctl.CmdBase + (uint)i), c)).Where(p => p.c is not null)
            .Select(p => (p.Item1, p.c!.Value));

    /// <summary>
    /// A row: <paramref name="outId"/> names the field an allocating command returns its new object's ID in,
    /// <paramref name="outFd"/> the field of its new fd, if any.
    /// </summary>
    private static void Add<T>(IommufdCommand nr, uint minSize, TypedHandler<T> handler, string? outId = null, string? outFd = null)
        where T : unmanaged
    {
        if (Unsafe.SizeOf<T>() > MaxKernelSize)
        {
            throw new InvalidOperationException($"{typeof(T).Name} is larger than the ioctl buffer");
        }

        Commands[nr - IommufdCommand.Destroy] = new Command(
            Unsafe.SizeOf<T>(),
            minSize,
            (IommufdFile file, Span<byte> bytes, ref bool respond) => handler(file, ref MemoryMarshal.AsRef<T>(bytes), ref respond),
            outId is null ? -1 : (int)Marshal.OffsetOf<T>(outId),
            outFd is null ? -1 : (int)Marshal.OffsetOf<T>(outFd));
    }

    /// <summary>
    /// One table row. An allocating command names where its struct returns the new object's ID and fd
    /// (<see cref="OutIdOffset"/>, <see cref="OutFdOffset"/>; −1 for none).
    /// </summary>
    public readonly record struct Command(int Size, uint MinSize, Handler Handler, int OutIdOffset, int OutFdOffset);
}
