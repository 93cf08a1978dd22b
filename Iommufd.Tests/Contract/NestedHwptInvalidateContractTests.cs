using System.Runtime.CompilerServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd_ioas, alloc_hwpt_nested), invalidation half: tools/testing/selftests/iommu/iommufd.c (and selftest.c
/// mock_domain_cache_invalidate_user()). Each row starts from two fresh nested HWPTs whose four IOTLB slots hold
/// 0xbadbeef, asserts the errno, the entry_num written back and the IOTLB contents; the last test replays the rows in
/// the selftest's order.
/// </summary>
[TestFixture]
public class NestedHwptInvalidateContractTests : MockContractTest
{
    private const uint D = MockFixture.IotlbDefault;
    private const uint Selftest = (uint)IommuHwptInvalidateDataType.Selftest;
    private static readonly uint EntryLen = (uint)Unsafe.SizeOf<IommuHwptInvalidateSelftest>();

    private uint _parent;
    private uint _nested0;
    private uint _nested1;

    [SetUp]
    public void AllocateTwoNestedHwpts()
    {
        _parent = Fx.AllocPaging();
        _nested0 = Fx.AllocNested(_parent);
        _nested1 = Fx.AllocNested(_parent);
    }

    private static IommuHwptInvalidateSelftest Entry(uint iotlbId, uint flags = 0) => new() { Flags = flags, IotlbId = iotlbId };

    [Test]
    public void The_parent_HWPT_cannot_be_invalidated_and_gives_EINVAL_with_entry_num_0()
    {
        var rc = Fx.InvalidateNested(_parent, out uint entryNum, Entry(0));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Entry_num_0_succeeds_and_handles_nothing()
    {
        uint entryNum = 0;

        var rc = Fx.Invalidate(_nested0, Selftest, EntryLen, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.Success, 0, [D, D, D, D]);
    }

    [Test]
    public void Entry_num_0_with_a_wrong_data_type_is_EINVAL_because_the_mock_checks_the_type_first()
    {
        uint entryNum = 0;

        var rc = Fx.Invalidate(_nested0, (uint)IommuHwptInvalidateDataType.SelftestInvalid, EntryLen, 0, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void The_SELFTEST_INVALID_data_type_is_EINVAL_with_entry_num_0()
    {
        uint entryNum = 1;

        var rc = Fx.Invalidate(_nested0, (uint)IommuHwptInvalidateDataType.SelftestInvalid, EntryLen, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [TestCase(1u, TestName = "Entry_len_1_is_below_the_minimum_and_gives_EINVAL_with_entry_num_0")]
    [TestCase(9u, TestName = "Entry_len_sizeof_plus_1_is_EINVAL_with_entry_num_0_under_the_single_entry_copy_rule")]
    public void A_bad_entry_len_is_EINVAL_with_entry_num_0(uint entryLen)
    {
        uint entryNum = 1;
        ulong data = Fx.PutBytes(new byte[16]); // valid bytes for any entry_len: only the length is wrong

        var rc = Fx.Invalidate(_nested0, Selftest, entryLen, data, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Unknown_entry_flags_are_EOPNOTSUPP_with_entry_num_0()
    {
        var rc = Fx.InvalidateNested(_nested0, out uint entryNum, Entry(0, flags: 0xffffffff));

        AssertOutcome(rc, entryNum, Errno.EOPNOTSUPP, 0, [D, D, D, D]);
    }

    [Test]
    public void A_NULL_data_pointer_with_one_entry_is_EINVAL_with_entry_num_0()
    {
        uint entryNum = 1;

        var rc = Fx.Invalidate(_nested0, Selftest, EntryLen, 0, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Entry_len_0_with_one_entry_is_EINVAL_with_entry_num_0()
    {
        uint entryNum = 1;

        var rc = Fx.Invalidate(_nested0, Selftest, 0, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void An_IOTLB_id_above_the_maximum_is_EINVAL_with_entry_num_0()
    {
        var rc = Fx.InvalidateNested(_nested0, out uint entryNum, Entry(SelftestConstants.MockNestedDomainIotlbIdMax + 1));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Invalidate_stops_at_bad_flags_in_the_second_entry_and_reports_its_index()
    {
        var rc = Fx.InvalidateNested(_nested0, out uint entryNum, Entry(0), Entry(1, flags: 0xffffffff));

        AssertOutcome(rc, entryNum, Errno.EOPNOTSUPP, 1, [0, D, D, D]);
    }

    [Test]
    public void Invalidate_stops_at_a_bad_IOTLB_id_in_the_second_entry_and_reports_its_index()
    {
        var rc = Fx.InvalidateNested(_nested0, out uint entryNum, Entry(0), Entry(SelftestConstants.MockNestedDomainIotlbIdMax + 1));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 1, [0, D, D, D]);
    }

    [Test]
    public void Invalidate_stops_at_an_entry_that_is_not_in_user_memory_and_reports_its_index()
    {
        // Two entries are requested but the data ends after the first: the per-entry copy faults at entry 1.
        ulong data = Fx.Process.Map((long)MockFixture.PageSize).Address + MockFixture.PageSize - EntryLen;
        Assert.That(Fx.Process.TryGetSpan(data, EntryLen, out var first), Is.True);
        System.Runtime.InteropServices.MemoryMarshal.Write(first, Entry(2));
        uint entryNum = 2;

        var rc = Fx.Invalidate(_nested0, Selftest, EntryLen, data, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EFAULT, 1, [D, D, 0, D]);
    }

    [Test]
    public void One_entry_clears_one_IOTLB_slot_and_reports_one_entry_handled()
    {
        var rc = Fx.InvalidateNested(_nested0, out uint entryNum, Entry(1));

        AssertOutcome(rc, entryNum, Errno.Success, 1, [D, 0, D, D]);
    }

    [Test]
    public void Two_entries_clear_two_IOTLB_slots_and_report_two_entries_handled()
    {
        var rc = Fx.InvalidateNested(_nested0, out uint entryNum, Entry(2), Entry(3));

        AssertOutcome(rc, entryNum, Errno.Success, 2, [D, D, 0, 0]);
    }

    [Test]
    public void FLAG_ALL_clears_every_slot_of_that_HWPT_only()
    {
        var rc = Fx.InvalidateNested(_nested1, out uint entryNum, Entry(0, (uint)IommuTestInvalidateFlags.All));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(entryNum, Is.EqualTo(1u));
            Assert.That(Fx.Iotlb(_nested1), Is.EqualTo(new uint[] { 0, 0, 0, 0 }));
            Assert.That(Fx.Iotlb(_nested0), Is.EqualTo(new uint[] { D, D, D, D }), "the other nested HWPT");
        }
    }

    [Test]
    public void FLAG_ALL_still_checks_the_IOTLB_id()
    {
        // mock_domain_cache_invalidate_user() checks iotlb_id before the FLAG_ALL branch (iommufd_test.h says the
        // id is "ignored" with FLAG_ALL, meaning which slot is cleared, not whether it is range-checked).
        var rc = Fx.InvalidateNested(_nested1, out uint entryNum, Entry(SelftestConstants.MockNestedDomainIotlbIdMax + 1, (uint)IommuTestInvalidateFlags.All));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D], _nested1);
    }

    [Test]
    public void A_nested_HWPT_in_use_cannot_be_destroyed_and_replace_moves_the_device_between_nested_HWPTs()
    {
        var attach0 = Fx.Attach(_nested0);
        var destroyInUse = Fx.Destroy(_nested0);
        var replace = Fx.Attach(_nested1);
        var domainAfterReplace = Fx.Mock.GetAttachedDomain(Fx.Device);
        Assert.That(Fx.File.GetHwptDomain(_nested1, out var nested1Domain), Is.EqualTo(Errno.Success));
        var destroyOld = Fx.Destroy(_nested0);
        var destroyNewInUse = Fx.Destroy(_nested1);
        var backToIoas = Fx.Attach(Fx.IoasId);
        var destroyNew = Fx.Destroy(_nested1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(attach0, Is.EqualTo(Errno.Success));
            Assert.That(destroyInUse, Is.EqualTo(Errno.EBUSY));
            Assert.That(replace, Is.EqualTo(Errno.Success));
            Assert.That(domainAfterReplace, Is.SameAs(nested1Domain));
            Assert.That(destroyOld, Is.EqualTo(Errno.Success));
            Assert.That(destroyNewInUse, Is.EqualTo(Errno.EBUSY));
            Assert.That(backToIoas, Is.EqualTo(Errno.Success));
            Assert.That(destroyNew, Is.EqualTo(Errno.Success));
        }
    }

    [Test]
    public void The_selftest_sequence_leaves_the_IOTLBs_as_the_selftest_expects_after_every_step()
    {
        var steps = new List<(string Row, Errno Rc, uint EntryNum, uint[] Iotlb0)>();
        void Record(string row, Errno rc, uint entryNum) => steps.Add((row, rc, entryNum, Fx.Iotlb(_nested0)));

        uint n = 1;
        Record("parent", Fx.Invalidate(_parent, Selftest, EntryLen, Fx.Put(Entry(0)), ref n), n);
        n = 0;
        Record("entry_num 0", Fx.Invalidate(_nested0, Selftest, EntryLen, Fx.Put(Entry(0)), ref n), n);
        n = 1;
        Record("invalid type", Fx.Invalidate(_nested0, (uint)IommuHwptInvalidateDataType.SelftestInvalid, EntryLen, Fx.Put(Entry(0)), ref n), n);
        n = 1;
        Record("entry_len sizeof+1", Fx.Invalidate(_nested0, Selftest, EntryLen + 1, Fx.PutBytes(new byte[16]), ref n), n);
        n = 1;
        Record("entry_len 1", Fx.Invalidate(_nested0, Selftest, 1, Fx.Put(Entry(0)), ref n), n);
        Record("bad flags", Fx.InvalidateNested(_nested0, out n, Entry(0, 0xffffffff)), n);
        n = 1;
        Record("NULL data", Fx.Invalidate(_nested0, Selftest, EntryLen, 0, ref n), n);
        n = 1;
        Record("entry_len 0", Fx.Invalidate(_nested0, Selftest, 0, Fx.Put(Entry(0)), ref n), n);
        Record("bad iotlb_id", Fx.InvalidateNested(_nested0, out n, Entry(4)), n);
        Record("[ok, bad flags]", Fx.InvalidateNested(_nested0, out n, Entry(0), Entry(1, 0xffffffff)), n);
        Record("[ok, bad id]", Fx.InvalidateNested(_nested0, out n, Entry(0), Entry(4)), n);
        Record("id 1", Fx.InvalidateNested(_nested0, out n, Entry(1)), n);
        Record("ids 2, 3", Fx.InvalidateNested(_nested0, out n, Entry(2), Entry(3)), n);
        var all = Fx.InvalidateNested(_nested1, out uint allNum, Entry(0, (uint)IommuTestInvalidateFlags.All));

        var expected = new List<(string, Errno, uint, uint[])>
        {
            ("parent", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_num 0", Errno.Success, 0, [D, D, D, D]),
            ("invalid type", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_len sizeof+1", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_len 1", Errno.EINVAL, 0, [D, D, D, D]),
            ("bad flags", Errno.EOPNOTSUPP, 0, [D, D, D, D]),
            ("NULL data", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_len 0", Errno.EINVAL, 0, [D, D, D, D]),
            ("bad iotlb_id", Errno.EINVAL, 0, [D, D, D, D]),
            ("[ok, bad flags]", Errno.EOPNOTSUPP, 1, [0, D, D, D]),
            ("[ok, bad id]", Errno.EINVAL, 1, [0, D, D, D]),
            ("id 1", Errno.Success, 1, [0, 0, D, D]),
            ("ids 2, 3", Errno.Success, 2, [0, 0, 0, 0]),
        };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(steps, Is.EqualTo(expected));
            Assert.That(all, Is.EqualTo(Errno.Success));
            Assert.That(allNum, Is.EqualTo(1u));
            Assert.That(Fx.Iotlb(_nested1), Is.All.Zero);
        }
    }

    private void AssertOutcome(Errno rc, uint entryNum, Errno expectedRc, uint expectedEntryNum, uint[] expectedIotlb, uint? hwpt = null)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(expectedRc), "errno");
            Assert.That(entryNum, Is.EqualTo(expectedEntryNum), "entry_num");
            Assert.That(Fx.Iotlb(hwpt ?? _nested0), Is.EqualTo(expectedIotlb), "iotlb");
        }
    }
}
