using System.Buffers.Binary;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Core.Viommu;

namespace Iommufd.Tests.Core;

/// <summary>vEVENTQ record format, sequence numbers and lost-event reporting (drivers/iommu/iommufd/eventq.c, driver.c
/// iommufd_viommu_report_event()).</summary>
public class VeventqTests
{
    private static VeventqObject NewQueue(uint depth) => new(viommu: null!, IommuVeventqType.Selftest, depth);

    private static void Report(VeventqObject q, uint virtId)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, virtId);
        q.Report(payload);
    }

    private static List<(uint Flags, uint Sequence, uint? VirtId)> ReadAll(VeventqObject q, int bufferSize = 256)
    {
        var buffer = new byte[bufferSize];
        Assert.That(q.Read(buffer, 0, out int count), Is.EqualTo(Errno.Success));
        var records = new List<(uint, uint, uint?)>();
        int at = 0;
        while (at < count)
        {
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at));
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at + 4));
            at += 8;
            uint? virt = null;
            if ((flags & (uint)IommuVeventqFlags.LostEvents) == 0)
            {
                virt = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at));
                at += 4;
            }

            records.Add((flags, seq, virt));
        }

        return records;
    }

    [Test]
    public void Records_carry_increasing_sequence_numbers_and_their_payload()
    {
        var q = NewQueue(4);
        Report(q, 0x99);
        Report(q, 0x88);
        Assert.That(ReadAll(q), Is.EqualTo(new List<(uint, uint, uint?)> { (0, 0, 0x99), (0, 1, 0x88) }));
    }

    [Test]
    public void Overflow_at_the_tail_is_read_as_a_lost_events_header_with_the_last_lost_sequence()
    {
        var q = NewQueue(2);
        Report(q, 1);
        Report(q, 2);
        Report(q, 3); // dropped: sequence 2
        Report(q, 4); // dropped: sequence 3
        Assert.That(ReadAll(q), Is.EqualTo(new List<(uint, uint, uint?)>
        {
            (0, 0, 1), (0, 1, 2), ((uint)IommuVeventqFlags.LostEvents, 3, null),
        }));
        Assert.That(ReadAll(q), Is.Empty, "the header is consumed by the read");
    }

    [Test]
    public void A_real_event_after_an_overflow_replaces_the_header_so_the_loss_shows_as_a_gap()
    {
        var q = NewQueue(2);
        Report(q, 1);
        Report(q, 2);
        Report(q, 3); // dropped: sequence 2, header at the tail
        Assert.That(ReadAll(q, 12), Is.EqualTo(new List<(uint, uint, uint?)> { (0, 0, 1) }), "a 12-byte buffer takes one record");
        Report(q, 4); // room again: sequence 3 replaces the header
        Assert.That(ReadAll(q), Is.EqualTo(new List<(uint, uint, uint?)> { (0, 1, 2), (0, 3, 4) }));
    }

    [Test]
    public void A_buffer_too_small_for_the_next_record_reads_zero_bytes_and_keeps_it()
    {
        var q = NewQueue(2);
        Report(q, 7);
        var small = new byte[11];
        Assert.Multiple(() =>
        {
            Assert.That(q.Read(small, 0, out int count), Is.EqualTo(Errno.Success));
            Assert.That(count, Is.Zero);
            Assert.That(q.Count, Is.EqualTo(1));
            Assert.That(q.Read(new byte[12], 1, out _), Is.EqualTo(Errno.ESPIPE), "a non-zero position");
            Assert.That(q.Write(new byte[8], 0, out _), Is.EqualTo(Errno.EINVAL), "no write op");
        });
    }

    [Test]
    public void Wait_completes_when_an_event_arrives()
    {
        var q = NewQueue(2);
        var wait = q.WaitAsync();
        Assert.That(wait.IsCompleted, Is.False);
        Report(q, 1);
        Assert.That(wait.Wait(TimeSpan.FromSeconds(5)), Is.True);
    }
}
