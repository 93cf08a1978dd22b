using System.Runtime.InteropServices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Hwpt;

/// <summary>
/// A fault queue (IOMMU_FAULT_QUEUE_ALLOC): I/O page faults of the HWPTs that name it, read as 40-byte
/// <see cref="IommuHwptPgfault"/> records from its fd; responses are written back as 8-byte records.
/// </summary>
internal sealed class FaultObject : IommufdObject, IEventFile
{
    private readonly Lock _lock = new(); // guards _pending and _awaitingResponse
    private readonly Queue<IommuHwptPgfault> _pending = new();
    private readonly Dictionary<uint, IommuHwptPgfault> _awaitingResponse = [];
    private uint _nextCookie = 1;

    public override IommufdObjectType Type => IommufdObjectType.Fault;

    /// <summary>Number of faults delivered whose response has not come back.</summary>
    public int AwaitingResponse
    {
        get
        {
            lock (_lock)
            {
                return _awaitingResponse.Count;
            }
        }
    }

    /// <summary>Queues a page fault for user space.</summary>
    public void Report(IommuHwptPgfault fault)
    {
        lock (_lock)
        {
            fault.Cookie = _nextCookie++;
            _pending.Enqueue(fault);
        }
    }

    public Errno Read(Span<byte> buffer, long position, out int count)
    {
        count = 0;
        int size = Marshal.SizeOf<IommuHwptPgfault>();
        if (position != 0 || buffer.Length % size != 0)
        {
            return Errno.ESPIPE;
        }

        lock (_lock)
        {
            while (buffer.Length - count >= size && _pending.TryDequeue(out var fault))
            {
                MemoryMarshal.Write(buffer[count..], in fault);
                _awaitingResponse[fault.Cookie] = fault;
                count += size;
            }
        }

        return Errno.Success;
    }

    public Errno Write(ReadOnlySpan<byte> buffer, long position, out int count)
    {
        count = 0;
        int size = Marshal.SizeOf<IommuHwptPageResponse>();
        if (position != 0 || buffer.Length % size != 0)
        {
            return Refusal.Because(Errno.ESPIPE, $"a write at {position} of {buffer.Length} bytes is not whole {size}-byte responses at 0");
        }

        lock (_lock)
        {
            while (buffer.Length - count >= size)
            {
                var response = MemoryMarshal.Read<IommuHwptPageResponse>(buffer[count..]);
                // eventq.c iommufd_fault_fops_write(): an unknown code, or a cookie no fault awaits (never sent, or
                // answered already), stops the write: EINVAL when it is the first response, else the count so far.
                if (response.Code > 1 || !_awaitingResponse.Remove(response.Cookie))
                {
                    return count > 0 ? Errno.Success
                        : Refusal.Because(Errno.EINVAL, $"response code {response.Code} or cookie {response.Cookie}: no fault awaits it");
                }

                count += size;
            }
        }

        return Errno.Success;
    }

    public void Close() => RemoveUser();

    internal override void Destroy()
    {
    }
}
