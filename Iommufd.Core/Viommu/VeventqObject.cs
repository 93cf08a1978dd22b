using System.Buffers;
using System.Runtime.InteropServices;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Objects;
using Iommufd.Core.Uapi;

namespace Iommufd.Core.Viommu;

/// <summary>
/// A vEVENTQ: events a vIOMMU reports for its guest, read from an fd as an 8-byte
/// <see cref="IommufdVeventHeader"/> plus payload per record (drivers/iommu/iommufd/eventq.c
/// iommufd_veventq_fops_read()).
/// </summary>
/// <remarks>
/// Sequence numbers run from 0 to int.MaxValue and wrap. At most <see cref="Depth"/> events are queued; an event
/// beyond that is dropped and a lost-events header takes its sequence number. That header is always the last
/// record: a later real event removes it, so the loss then shows only as a gap in the sequence.
/// </remarks>
internal sealed class VeventqObject : IommufdObject, IEventFile
{
    private readonly Lock _lock = new(); // guards _events, _sequence, _lostHeaderSequence and _waiter
    private readonly Queue<Record> _events = new();
    private readonly ViommuObject _viommu;
    private uint _sequence;
    private uint? _lostHeaderSequence;
    private TaskCompletionSource? _waiter;

    public VeventqObject(ViommuObject viommu, IommuVeventqType eventType, uint depth)
    {
        _viommu = viommu;
        EventType = eventType;
        Depth = depth;
    }

    public override IommufdObjectType Type => IommufdObjectType.Veventq;

    public IommuVeventqType EventType { get; }

    public uint Depth { get; }

    /// <summary>The fd number the caller got for this queue.</summary>
    public int Fd { get; set; }

    /// <summary>Events queued and not read (the lost-events header not counted).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Queues one event, or the lost-events header when the queue is full.</summary>
    public void Report(ReadOnlySpan<byte> payload)
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            _lostHeaderSequence = null;
            if (_events.Count >= Depth)
            {
                _lostHeaderSequence = _sequence;
            }
            else
            {
                var data = ArrayPool<byte>.Shared.Rent(payload.Length);
                payload.CopyTo(data);
                _events.Enqueue(new Record(_sequence, data, payload.Length));
            }

            _sequence = (_sequence + 1) & int.MaxValue;
            wake = _waiter;
            _waiter = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>
    /// read(2): copies whole records that fit, oldest first, and returns the byte count (0 when the queue is empty
    /// or the next record does not fit). It never blocks.
    /// </summary>
    public Errno Read(Span<byte> buffer, long position, out int count)
    {
        count = 0;
        if (position != 0)
        {
            return Errno.ESPIPE;
        }

        int headerSize = Marshal.SizeOf<IommufdVeventHeader>();
        lock (_lock)
        {
            while (_events.TryPeek(out var record))
            {
                if (buffer.Length - count < headerSize + record.Length)
                {
                    return Errno.Success;
                }

                var header = new IommufdVeventHeader { Flags = 0, Sequence = record.Sequence };
                MemoryMarshal.Write(buffer[count..], in header);
                record.Data.AsSpan(0, record.Length).CopyTo(buffer[(count + headerSize)..]);
                count += headerSize + record.Length;
                _events.Dequeue();
                ArrayPool<byte>.Shared.Return(record.Data);
            }

            if (_lostHeaderSequence is uint lost && buffer.Length - count >= headerSize)
            {
                var header = new IommufdVeventHeader { Flags = (uint)IommuVeventqFlags.LostEvents, Sequence = lost };
                MemoryMarshal.Write(buffer[count..], in header);
                count += headerSize;
                _lostHeaderSequence = null;
            }
        }

        return Errno.Success;
    }

    /// <summary>The vEVENTQ file has no write op.</summary>
    public Errno Write(ReadOnlySpan<byte> buffer, long position, out int count)
    {
        count = 0;
        return Refusal.Because(Errno.EINVAL, $"a vEVENTQ fd cannot be written");
    }

    /// <summary>Completes when a record is ready to read (what poll() reports as EPOLLIN).</summary>
    public Task WaitAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_events.Count > 0 || _lostHeaderSequence is not null)
            {
                return Task.CompletedTask;
            }

            _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _waiter.Task.WaitAsync(cancellationToken);
        }
    }

    public void Close() => RemoveUser();

    internal override void Destroy()
    {
        _viommu.RemoveEventQueue(this);
        TaskCompletionSource? wake;
        lock (_lock)
        {
            wake = _waiter;
            _waiter = null;
            while (_events.TryDequeue(out var record))
            {
                ArrayPool<byte>.Shared.Return(record.Data);
            }

            _lostHeaderSequence = null;
        }

        wake?.TrySetResult(); // a poll() waiting on the queue returns; its next read finds the fd closed
        _viommu.RemoveUser();
    }

    private readonly record struct Record(uint Sequence, byte[] Data, int Length);
}
