using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Contract;

/// <summary>
/// TEST_F(iommufd_viommu, vdevice_cache): tools/testing/selftests/iommu/iommufd.c (and selftest.c
/// mock_viommu_cache_invalidate()). HWPT_INVALIDATE names the vIOMMU; entries name the device by the virtual ID of its
/// vDEVICE (0x99 here) and clear its cache slots, which all start at 0xbaddad. Each row asserts the errno, the
/// entry_num written back and the cache contents; the last test replays the rows in the selftest's order.
/// </summary>
[TestFixture]
public class ViommuInvalidateContractTests : MockContractTest
{
    private const uint D = SelftestConstants.DevCacheDefault;
    private const uint VirtId = 0x99;
    private const uint Selftest = (uint)IommuHwptInvalidateDataType.Selftest;
    private static readonly uint EntryLen = (uint)Unsafe.SizeOf<IommuViommuInvalidateSelftest>();

    private uint _viommu;

    [SetUp]
    public void AllocateAVdevice()
    {
        (_, _viommu, _) = Fx.SetUpViommu();
        MockFixture.Expect(Fx.AllocVdevice(_viommu, Fx.DevId, VirtId, out _), "VDEVICE_ALLOC");
    }

    private static IommuViommuInvalidateSelftest Entry(uint cacheId, uint flags = 0, uint vdevId = VirtId) =>
        new() { Flags = flags, VdevId = vdevId, CacheId = cacheId };

    [Test]
    public void Entry_num_0_succeeds_and_handles_nothing()
    {
        uint entryNum = 0;

        var rc = Fx.Invalidate(_viommu, Selftest, EntryLen, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.Success, 0, [D, D, D, D]);
    }

    [Test]
    public void Entry_num_0_with_a_wrong_data_type_is_EINVAL()
    {
        uint entryNum = 0;

        var rc = Fx.Invalidate(_viommu, (uint)IommuHwptInvalidateDataType.SelftestInvalid, EntryLen, 0, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void An_invalid_data_type_is_EINVAL_with_entry_num_0()
    {
        uint entryNum = 1;

        var rc = Fx.Invalidate(_viommu, (uint)IommuHwptInvalidateDataType.SelftestInvalid, EntryLen, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [TestCase(13u, TestName = "Entry_len_sizeof_plus_1_of_zeroed_requests_is_EINVAL_with_entry_num_0")]
    [TestCase(1u, TestName = "Entry_len_1_of_zeroed_requests_is_EINVAL_with_entry_num_0")]
    public void A_bad_entry_len_over_zeroed_requests_is_EINVAL_with_entry_num_0(uint entryLen)
    {
        // As in the selftest, the request array is zeroed: the full-array copy accepts the length (iommu.h
        // iommu_copy_struct_from_full_user_array()) and the zero-filled entry names vdev_id 0, which has no vDEVICE
        // (which is why the selftest sees EINVAL there).
        uint entryNum = 1;

        var rc = Fx.Invalidate(_viommu, Selftest, entryLen, Fx.PutBytes(new byte[2 * 12]), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Entry_len_sizeof_plus_1_with_a_zero_tail_is_accepted_by_the_full_array_copy()
    {
        // The mechanism behind the previous row: with a valid vdev_id the longer entry is applied.
        var bytes = new byte[EntryLen + 1];
        MemoryMarshal.Write(bytes, Entry(2));
        uint entryNum = 1;

        var rc = Fx.Invalidate(_viommu, Selftest, EntryLen + 1, Fx.PutBytes(bytes), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.Success, 1, [D, D, 0, D]);
    }

    [Test]
    public void Entry_len_sizeof_plus_1_with_a_non_zero_tail_is_E2BIG_with_entry_num_0()
    {
        var bytes = new byte[EntryLen + 1];
        MemoryMarshal.Write(bytes, Entry(2));
        bytes[^1] = 1;
        uint entryNum = 1;

        var rc = Fx.Invalidate(_viommu, Selftest, EntryLen + 1, Fx.PutBytes(bytes), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.E2BIG, 0, [D, D, D, D]);
    }

    [Test]
    public void Unknown_entry_flags_are_EOPNOTSUPP_with_entry_num_0()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(0, flags: 0xffffffff));

        AssertOutcome(rc, entryNum, Errno.EOPNOTSUPP, 0, [D, D, D, D]);
    }

    [Test]
    public void A_NULL_data_pointer_is_EINVAL_with_entry_num_0()
    {
        uint entryNum = 1;

        var rc = Fx.Invalidate(_viommu, Selftest, EntryLen, 0, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Entry_len_0_is_EINVAL_with_entry_num_0()
    {
        uint entryNum = 1;

        var rc = Fx.Invalidate(_viommu, Selftest, 0, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void A_cache_id_above_the_maximum_is_EINVAL_with_entry_num_0()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(SelftestConstants.MockDevCacheIdMax + 1));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void An_unknown_vdev_id_is_EINVAL_with_entry_num_0()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(0, vdevId: 0x9));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 0, [D, D, D, D]);
    }

    [Test]
    public void Invalidate_stops_at_bad_flags_in_the_second_entry_and_reports_its_index()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(0), Entry(1, flags: 0xffffffff));

        AssertOutcome(rc, entryNum, Errno.EOPNOTSUPP, 1, [0, D, D, D]);
    }

    [Test]
    public void Invalidate_stops_at_a_bad_cache_id_in_the_second_entry_and_reports_its_index()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(0), Entry(SelftestConstants.MockDevCacheIdMax + 1));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 1, [0, D, D, D]);
    }

    [Test]
    public void Invalidate_stops_at_an_unknown_vdev_id_in_the_second_entry_and_reports_its_index()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(3), Entry(2, vdevId: 0x9), Entry(1));

        AssertOutcome(rc, entryNum, Errno.EINVAL, 1, [D, D, D, 0]);
    }

    [Test]
    public void An_array_that_runs_out_of_user_memory_is_EFAULT_with_entry_num_0()
    {
        // The full-array copy happens before any entry is applied, so nothing is handled.
        ulong data = Fx.Process.Map((long)MockFixture.PageSize).Address + MockFixture.PageSize - EntryLen;
        Assert.That(Fx.Process.TryGetSpan(data, EntryLen, out var first), Is.True);
        MemoryMarshal.Write(first, Entry(0));
        uint entryNum = 2;

        var rc = Fx.Invalidate(_viommu, Selftest, EntryLen, data, ref entryNum);

        AssertOutcome(rc, entryNum, Errno.EFAULT, 0, [D, D, D, D]);
    }

    [Test]
    public void An_entry_num_larger_than_the_kernel_could_allocate_is_ENOMEM_with_entry_num_0()
    {
        uint entryNum = 1u << 20; // 12 MiB of entries

        var rc = Fx.Invalidate(_viommu, Selftest, EntryLen, Fx.Put(Entry(0)), ref entryNum);

        AssertOutcome(rc, entryNum, Errno.ENOMEM, 0, [D, D, D, D]);
    }

    [Test]
    public void One_entry_clears_one_cache_slot()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(1));

        AssertOutcome(rc, entryNum, Errno.Success, 1, [D, 0, D, D]);
    }

    [Test]
    public void Two_entries_clear_two_cache_slots()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(2), Entry(3));

        AssertOutcome(rc, entryNum, Errno.Success, 2, [D, D, 0, 0]);
    }

    [Test]
    public void FLAG_ALL_clears_every_cache_slot()
    {
        var rc = Fx.InvalidateViommu(_viommu, out uint entryNum, Entry(0, (uint)IommuTestInvalidateFlags.All));

        AssertOutcome(rc, entryNum, Errno.Success, 1, [0, 0, 0, 0]);
    }

    [Test]
    public void Invalidations_through_the_vIOMMU_leave_the_nested_HWPT_IOTLB_alone()
    {
        uint nested = Fx.AllocNested(_viommu);

        var rc = Fx.InvalidateViommu(_viommu, out _, Entry(0, (uint)IommuTestInvalidateFlags.All));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(Fx.DeviceCache(), Is.All.Zero);
            Assert.That(Fx.Iotlb(nested), Is.All.EqualTo(MockFixture.IotlbDefault));
        }
    }

    [Test]
    public void The_selftest_sequence_leaves_the_device_cache_as_the_selftest_expects_after_every_step()
    {
        var steps = new List<(string Row, Errno Rc, uint EntryNum, uint[] Cache)>();
        void Record(string row, Errno rc, uint entryNum) => steps.Add((row, rc, entryNum, Fx.DeviceCache()));
        ulong zeroed = Fx.PutBytes(new byte[2 * 13]);

        uint n = 0;
        Record("entry_num 0", Fx.Invalidate(_viommu, Selftest, EntryLen, zeroed, ref n), n);
        n = 1;
        Record("invalid type", Fx.Invalidate(_viommu, (uint)IommuHwptInvalidateDataType.SelftestInvalid, EntryLen, zeroed, ref n), n);
        n = 1;
        Record("entry_len sizeof+1", Fx.Invalidate(_viommu, Selftest, EntryLen + 1, zeroed, ref n), n);
        n = 1;
        Record("entry_len 1", Fx.Invalidate(_viommu, Selftest, 1, zeroed, ref n), n);
        Record("bad flags", Fx.InvalidateViommu(_viommu, out n, Entry(0, 0xffffffff)), n);
        n = 1;
        Record("NULL data", Fx.Invalidate(_viommu, Selftest, EntryLen, 0, ref n), n);
        n = 1;
        Record("entry_len 0", Fx.Invalidate(_viommu, Selftest, 0, zeroed, ref n), n);
        Record("bad cache_id", Fx.InvalidateViommu(_viommu, out n, Entry(4)), n);
        Record("bad vdev_id", Fx.InvalidateViommu(_viommu, out n, Entry(0, vdevId: 0x9)), n);
        Record("[ok, bad flags]", Fx.InvalidateViommu(_viommu, out n, Entry(0), Entry(1, 0xffffffff)), n);
        Record("[ok, bad cache_id]", Fx.InvalidateViommu(_viommu, out n, Entry(0), Entry(4)), n);
        Record("cache 1", Fx.InvalidateViommu(_viommu, out n, Entry(1)), n);
        Record("caches 2, 3", Fx.InvalidateViommu(_viommu, out n, Entry(2), Entry(3)), n);
        Record("FLAG_ALL", Fx.InvalidateViommu(_viommu, out n, Entry(0, (uint)IommuTestInvalidateFlags.All)), n);

        var expected = new List<(string, Errno, uint, uint[])>
        {
            ("entry_num 0", Errno.Success, 0, [D, D, D, D]),
            ("invalid type", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_len sizeof+1", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_len 1", Errno.EINVAL, 0, [D, D, D, D]),
            ("bad flags", Errno.EOPNOTSUPP, 0, [D, D, D, D]),
            ("NULL data", Errno.EINVAL, 0, [D, D, D, D]),
            ("entry_len 0", Errno.EINVAL, 0, [D, D, D, D]),
            ("bad cache_id", Errno.EINVAL, 0, [D, D, D, D]),
            ("bad vdev_id", Errno.EINVAL, 0, [D, D, D, D]),
            ("[ok, bad flags]", Errno.EOPNOTSUPP, 1, [0, D, D, D]),
            ("[ok, bad cache_id]", Errno.EINVAL, 1, [0, D, D, D]),
            ("cache 1", Errno.Success, 1, [0, 0, D, D]),
            ("caches 2, 3", Errno.Success, 2, [0, 0, 0, 0]),
            ("FLAG_ALL", Errno.Success, 1, [0, 0, 0, 0]),
        };
        Assert.That(steps, Is.EqualTo(expected));
    }

    private void AssertOutcome(Errno rc, uint entryNum, Errno expectedRc, uint expectedEntryNum, uint[] expectedCache)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(expectedRc), "errno");
            Assert.That(entryNum, Is.EqualTo(expectedEntryNum), "entry_num");
            Assert.That(Fx.DeviceCache(), Is.EqualTo(expectedCache), "device cache");
        }
    }
}
