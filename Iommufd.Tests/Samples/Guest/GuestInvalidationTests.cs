using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core.Driver;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>
/// Unmap invalidates what it removed before it returns (Arm IHI 0070 §4.4, §4.7.3): the IOTLB through TLBI_NH_VA (per
/// page, or by range with IDR3.RIL) and, for an ATS device, the ATC through ATC_INV. The bare SMMU really caches, so
/// a missing invalidation shows up as DMA that still succeeds.
/// </summary>
[TestFixture]
public class GuestInvalidationTests
{
    private const uint Sid = 5;
    private const ushort Asid = 7;
    private const ulong Va = 0x40_0000_0000;

    [Test]
    public void Unmap_makes_DMA_fault_at_once_because_the_driver_invalidated_the_IOTLB()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x5A), 4096, IommuProtection.Read);
        var before = rig.DmaRead(Sid, Va, out _);

        bool completed = rig.Driver.Unmap(Sid, Va, 4096);
        var after = rig.DmaRead(Sid, Va, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.EqualTo(DmaStatus.Ok));
            Assert.That(completed, Is.True);
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(rig.Driver.ReadEvents().Select(e => (e.Id, e.InputAddress)), Is.EqualTo(new[] { (SmmuEventId.F_TRANSLATION, Va) }));
        }
    }

    [Test]
    public void A_PTE_cleared_without_invalidation_keeps_serving_DMA_from_the_stale_IOTLB_entry_until_the_driver_invalidates()
    {
        using var rig = new GuestRig();
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x5A), 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);

        rig.Driver.GetPageTable(Sid)!.Unmap(Va, 4096); // the PTE goes, nothing is invalidated
        var stale = rig.DmaRead(Sid, Va + 0x10, out var staleData);
        rig.Driver.Unmap(Sid, Va, 4096); // the PTE is already clear: only the invalidation does anything
        var after = rig.DmaRead(Sid, Va + 0x10, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stale, Is.EqualTo(DmaStatus.Ok));
            Assert.That(staleData, Is.All.EqualTo((byte)0x5A), "the old page, through the cached translation");
            Assert.That(after, Is.EqualTo(DmaStatus.TranslationFault));
        }
    }

    [Test]
    public void Without_range_invalidation_unmap_sends_one_TLBI_NH_VA_per_page_and_one_CMD_SYNC()
    {
        using var rig = new GuestRig(new SmmuV3Features { Stage2 = false, RangeInvalidation = false });
        var log = new List<(string, SmmuCommand[])>();
        var recorder = new RecordingPath("smmu", log, rig.Driver.Queue);
        rig.Driver.AttachDevice(Sid, Asid);
        rig.Driver.Map(Sid, Va, rig.DataPages(0, 4), 4 * 4096, IommuProtection.Read);
        rig.Driver.CommandPath = recorder;
        long syncsBefore = rig.Driver.Queue.Statistics.Syncs;

        rig.Driver.Unmap(Sid, Va, 4 * 4096);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Driver.UsesRangeInvalidation, Is.False);
            Assert.That(log, Has.Count.EqualTo(1), "one submission");
            Assert.That(recorder.Commands.Select(c => (c.Opcode, c.Address, c.Tg, c.Asid)), Is.EqualTo(
                Enumerable.Range(0, 4).Select(i => (SmmuOpcode.TLBI_NH_VA, Va + ((ulong)i * 4096), (byte)0, Asid))));
            Assert.That(rig.Driver.Queue.Statistics.Syncs - syncsBefore, Is.EqualTo(1));
        }
    }

    [Test]
    public void A_1_MiB_unmap_with_RIL_is_one_range_TLBI_that_invalidates_exactly_those_pages()
    {
        const ulong mib = 1 << 20;
        using var rig = new GuestRig();
        var log = new List<(string, SmmuCommand[])>();
        var recorder = new RecordingPath("smmu", log, rig.Driver.Queue);
        rig.Connect(Sid);
        rig.Driver.AttachDevice(Sid, Asid);
        // One page before the range, the 256 pages of the range, one page after it.
        ulong before = Va - 4096, after = Va + mib;
        rig.Driver.Map(Sid, before, rig.DataPages(0x33, 258), mib + (2 * 4096), IommuProtection.Read);
        for (ulong va = before; va <= after; va += 4096)
        {
            rig.DmaRead(Sid, va, out _); // every page's translation is now in the IOTLB
        }

        // The neighbours lose their PTEs without invalidation: only a TLBI that reached them could make them fault.
        rig.Driver.GetPageTable(Sid)!.Unmap(before, 4096);
        rig.Driver.GetPageTable(Sid)!.Unmap(after, 4096);
        rig.Driver.CommandPath = recorder;
        rig.Driver.Unmap(Sid, Va, mib);

        var command = recorder.Commands.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(command.Opcode, Is.EqualTo(SmmuOpcode.TLBI_NH_VA));
            Assert.That((command.Address, command.Tg, command.Num, command.Scale), Is.EqualTo((Va, SmmuCommand.TG_4K, (byte)0, (byte)8)),
                "(NUM + 1) × 2^SCALE = 1 × 256 pages of 4 KiB");
            Assert.That((command.Leaf, command.Ttl), Is.EqualTo((true, (byte)3)), "leaf entries at level 3");
            Assert.That(rig.DmaRead(Sid, Va, out _), Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(rig.DmaRead(Sid, after - 4096, out _), Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(rig.DmaRead(Sid, before, out _), Is.EqualTo(DmaStatus.Ok), "the page before the range is still cached");
            Assert.That(rig.DmaRead(Sid, after, out _), Is.EqualTo(DmaStatus.Ok), "the page after the range is still cached");
            Assert.That(rig.Driver.Queue.Statistics.Failures, Is.Empty);
        }
    }

    [TestCase(1ul, new[] { 1ul })]
    [TestCase(32ul, new[] { 32ul })]
    [TestCase(33ul, new[] { 1ul, 32ul })]
    [TestCase(100ul, new[] { 100ul })]
    [TestCase(256ul, new[] { 256ul })]
    [TestCase(0x3Ful, new[] { 31ul, 32ul })]
    public void Range_TLBIs_split_a_page_count_into_NUM_and_SCALE_chunks(ulong pages, ulong[] chunks)
    {
        var covered = new List<ulong>();
        for (ulong left = pages; left != 0;)
        {
            var (num, scale, chunk) = InvalidationCommands.NextRange(left);
            Assert.That(chunk, Is.EqualTo((num + 1ul) << scale));
            covered.Add(chunk);
            left -= chunk;
        }

        Assert.That(covered, Is.EqualTo(chunks));
    }

    [Test]
    public void Range_TLBIs_cover_every_page_count_exactly_with_legal_fields()
    {
        var commands = new SmmuCommand[16];
        for (ulong pages = 1; pages <= 5000; pages++)
        {
            int count = InvalidationCommands.WriteRange(commands, Asid, Va, pages);
            ulong next = Va;
            foreach (var c in commands.AsSpan(0, count))
            {
                Assert.That(c.Address, Is.EqualTo(next), $"{pages} pages: commands are contiguous");
                Assert.That(RangeInvalidation.IsLegal(c, rangeInvalidation: true, ds: false), Is.True);
                next += ((ulong)c.Num + 1) << (c.Scale + 12);
            }

            Assert.That(next - Va, Is.EqualTo(pages * 4096), $"{pages} pages");
            Assert.That(count, Is.EqualTo(InvalidationCommands.RangeCount(pages)));
        }
    }

    [TestCase(0x3000ul, 0x2000ul, 0x0ul, 3)]
    [TestCase(0x5000ul, 0x1000ul, 0x5000ul, 0)]
    [TestCase(0x10_0000ul, 0x10_0000ul, 0x10_0000ul, 8)]
    [TestCase(0x0ul, 0x1_0000_0000_0000ul, 0x0ul, 36)]
    [TestCase(0x7FFF_FFFF_FFFF_F000ul, 0x2000ul, 0x0ul, 52)]
    public void ATC_INV_spans_the_smallest_aligned_power_of_two_block_holding_the_range(ulong va, ulong length, ulong address, int size)
    {
        var command = InvalidationCommands.AtcInvalidate(Sid, va, length);

        Assert.That((command.Opcode, command.StreamId, command.Address, (int)command.AtcSize), Is.EqualTo((SmmuOpcode.ATC_INV, Sid, address, size)));
    }

    [Test]
    public void An_ATS_device_unmap_sends_ATC_INV_after_a_synced_TLBI_and_empties_its_ATC()
    {
        using var rig = new GuestRig();
        var log = new List<(string, SmmuCommand[])>();
        rig.Connect(Sid, ats: true);
        rig.Driver.AttachDevice(Sid, Asid, ats: true);
        rig.Driver.Map(Sid, Va, rig.DataPages(0x44, 2), 2 * 4096, IommuProtection.Read);
        rig.DmaRead(Sid, Va, out _);
        rig.DmaRead(Sid, Va + 4096, out _);
        int atcBefore = rig.Smmu.GetAtc(Sid)!.Count;
        rig.Driver.CommandPath = new RecordingPath("smmu", log, rig.Driver.Queue);

        rig.Driver.Unmap(Sid, Va, 4096);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(atcBefore, Is.EqualTo(2));
            Assert.That(log.Select(e => e.Item2.Select(c => c.Opcode)), Is.EqualTo(new[]
            {
                new[] { SmmuOpcode.TLBI_NH_VA }, // synced first: the ATC could refill from a stale IOTLB entry
                new[] { SmmuOpcode.ATC_INV },
            }));
            Assert.That(log[1].Item2[0].StreamId, Is.EqualTo(Sid));
            Assert.That(rig.Smmu.GetAtc(Sid)!.Count, Is.EqualTo(1), "only the unmapped page's translation left the ATC");
            Assert.That(rig.DmaRead(Sid, Va, out _), Is.EqualTo(DmaStatus.TranslationFault));
            Assert.That(rig.DmaRead(Sid, Va + 4096, out _), Is.EqualTo(DmaStatus.Ok));
        }
    }
}
