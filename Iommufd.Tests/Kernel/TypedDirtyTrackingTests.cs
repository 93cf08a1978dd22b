using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// The typed <see cref="HwptCommands.HwptSetDirtyTracking"/> and <see cref="HwptCommands.HwptGetDirtyBitmap"/> give
/// what IOMMU_HWPT_SET_DIRTY_TRACKING and IOMMU_HWPT_GET_DIRTY_BITMAP give through the raw entry point: each case runs
/// once raw and once typed, on two machines set up alike, and the errno, the bitmap and the dirty state afterwards
/// must match (hw_pagetable.c iommufd_hwpt_set_dirty_tracking(), iommufd_hwpt_get_dirty_bitmap(), io_pagetable.c
/// iommufd_check_iova_range()).
/// </summary>
public class TypedDirtyTrackingTests
{
    private const ulong Page = MockFixture.PageSize;
    private const ulong MockPage = MockPagingDomain.IoPageSize;
    private const uint NoSuchId = 999;
    private static readonly ulong Aperture = SelftestConstants.MockApertureStart;

    /// <summary>Which HWPT a case names: the dirty-tracking one, a plain one, the IOAS, or no object.</summary>
    public enum Target
    {
        Dirty,
        Plain,
        Ioas,
        None,
    }

    [TestCase(Target.Dirty, 1u, Errno.Success)]
    [TestCase(Target.Dirty, 0u, Errno.Success)]
    [TestCase(Target.Dirty, 2u, Errno.EOPNOTSUPP)]
    [TestCase(Target.Plain, 1u, Errno.EOPNOTSUPP)]
    [TestCase(Target.Plain, 0u, Errno.EOPNOTSUPP)]
    [TestCase(Target.Ioas, 1u, Errno.ENOENT)]
    [TestCase(Target.None, 1u, Errno.ENOENT)]
    public void Set_dirty_tracking_typed_answers_as_raw(Target target, uint flags, Errno expected)
    {
        using var raw = new Rig();
        using var typed = new Rig();
        var cmd = new IommuHwptSetDirtyTracking { HwptId = raw.Id(target), Flags = flags };
        var rawRc = raw.Fx.Raw(IommufdIoctl.IOMMU_HWPT_SET_DIRTY_TRACKING, ref cmd);
        var typedRc = typed.Fx.File.HwptSetDirtyTracking(typed.Id(target), (IommuHwptSetDirtyTrackingFlags)flags);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rawRc, Is.EqualTo(expected), "raw");
            Assert.That(typedRc, Is.EqualTo(rawRc), "typed");
            Assert.That(typed.Domain.IsTracking, Is.EqualTo(raw.Domain.IsTracking), "the same tracking state after");
        }
    }

    [TestCase(Target.Dirty, 0u, 0ul, 4 * Page, MockPage, Errno.Success, TestName = "GET: the mapped range, clearing")]
    [TestCase(Target.Dirty, 1u, 0ul, 4 * Page, MockPage, Errno.Success, TestName = "GET: the mapped range, NO_CLEAR")]
    [TestCase(Target.Dirty, 0u, 0ul, 4 * Page, Page, Errno.Success, TestName = "GET: CPU-page bits")]
    [TestCase(Target.Dirty, 0u, MockPage, 2 * Page, MockPage, Errno.Success, TestName = "GET: a sub-range")]
    [TestCase(Target.Dirty, 2u, 0ul, 4 * Page, MockPage, Errno.EOPNOTSUPP, TestName = "GET: an unknown flag")]
    [TestCase(Target.Dirty, 0u, Page, ulong.MaxValue, MockPage, Errno.EOVERFLOW, TestName = "GET: a range that wraps")]
    [TestCase(Target.Dirty, 0u, 0ul, 4 * Page, 0ul, Errno.EINVAL, TestName = "GET: page size 0")]
    [TestCase(Target.Dirty, 0u, 0x400ul, 0x800ul, 0x400ul, Errno.EINVAL, TestName = "GET: off the IOAS's alignment")]
    [TestCase(Target.Plain, 0u, 0ul, 4 * Page, MockPage, Errno.EOPNOTSUPP, TestName = "GET: a domain without dirty ops")]
    [TestCase(Target.Ioas, 0u, 0ul, 4 * Page, MockPage, Errno.ENOENT, TestName = "GET: an IOAS")]
    [TestCase(Target.None, 0u, 0ul, 4 * Page, MockPage, Errno.ENOENT, TestName = "GET: no object")]
    public void Get_dirty_bitmap_typed_answers_as_raw(Target target, uint flags, ulong offset, ulong length, ulong pageSize, Errno expected)
    {
        using var raw = new Rig();
        using var typed = new Rig();
        ulong iova = Aperture + offset;
        int words = pageSize == 0 || length > 4 * Page ? 1 : (int)Math.Max(1, (length / pageSize + 63) / 64);
        ulong data = raw.Fx.Put(new ulong[words]);
        var cmd = new IommuHwptGetDirtyBitmap { HwptId = raw.Id(target), Flags = flags, Iova = iova, Length = length, PageSize = pageSize, Data = data };
        var rawRc = raw.Fx.Raw(IommufdIoctl.IOMMU_HWPT_GET_DIRTY_BITMAP, ref cmd);
        var rawBits = Enumerable.Range(0, words).Select(i => raw.Fx.Get<ulong>(data + (ulong)(8 * i))).ToArray();
        var typedBits = new ulong[words];
        var typedRc = typed.Fx.File.HwptGetDirtyBitmap(typed.Id(target), (IommuHwptGetDirtyBitmapFlags)flags, iova, length, pageSize, System.Runtime.InteropServices.MemoryMarshal.AsBytes(typedBits.AsSpan()));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rawRc, Is.EqualTo(expected), "raw");
            Assert.That(typedRc, Is.EqualTo(rawRc), "typed");
            Assert.That(typedBits, Is.EqualTo(rawBits), "the same bits");
            Assert.That(typed.SecondRead(), Is.EqualTo(raw.SecondRead()), "the same dirty state left behind (cleared or not)");
            if (expected == Errno.Success && offset == 0 && pageSize == MockPage)
            {
                Assert.That(rawBits[0], Is.EqualTo(Rig.Marked), "the marked mock pages");
            }
        }
    }

    [Test]
    public void A_bitmap_too_short_for_the_range_is_EFAULT_as_an_unwritable_one_is_raw()
    {
        // The typed call's span stands for the user bitmap: a span that cannot hold every u64 word is the raw
        // call's unwritable bitmap (EFAULT before any dirty bit is cleared; see the README's "differs from upstream").
        using var raw = new Rig();
        using var typed = new Rig();
        var cmd = new IommuHwptGetDirtyBitmap { HwptId = raw.Id(Target.Dirty), Iova = Aperture, Length = 4 * Page, PageSize = MockPage, Data = 0x10 };
        var rawRc = raw.Fx.Raw(IommufdIoctl.IOMMU_HWPT_GET_DIRTY_BITMAP, ref cmd);
        var typedRc = typed.Fx.File.HwptGetDirtyBitmap(typed.Id(Target.Dirty), 0, Aperture, 4 * Page, MockPage, new byte[4]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((rawRc, typedRc), Is.EqualTo((Errno.EFAULT, Errno.EFAULT)));
            Assert.That(typed.SecondRead(), Is.EqualTo(raw.SecondRead()).And.EqualTo(Rig.Marked), "nothing was cleared");
        }
    }

    /// <summary>
    /// dev0 on a DIRTY_TRACKING HWPT over four CPU pages at the aperture, tracking on, mock pages 1 and 4 marked dirty
    /// (IOMMU_TEST_OP_DIRTY); a plain HWPT on the same IOAS beside it.
    /// </summary>
    private sealed class Rig : IDisposable
    {
        public const ulong Marked = (1UL << 1) | (1UL << 4);

        private readonly uint _dirty;
        private readonly uint _plain;

        public Rig()
        {
            Fx = DirtyTrackingTests.DirtyRig(out _dirty);
            _plain = Fx.AllocPaging(0);
            MockFixture.Expect(DirtyTrackingTests.SetDirty(Fx, _dirty, 1), "tracking on");
            var mark = new IommuTestCmd
            {
                Op = (uint)IommuTestOp.Dirty, Id = _dirty, DirtyIova = Aperture, DirtyLength = 4 * Page, DirtyPageSize = MockPage,
                DirtyUptr = Fx.Put(Marked),
            };
            MockFixture.Expect(Fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref mark), "mark dirty");
            MockFixture.Expect(Fx.File.GetHwptDomain(_dirty, out var domain), "the domain");
            Domain = (MockPagingDomain)domain;
        }

        public MockFixture Fx { get; }

        public MockPagingDomain Domain { get; }

        public uint Id(Target target) => target switch
        {
            Target.Dirty => _dirty,
            Target.Plain => _plain,
            Target.Ioas => Fx.IoasId,
            _ => NoSuchId,
        };

        /// <summary>A NO_CLEAR read of the whole range, in mock pages: what the case left dirty.</summary>
        public ulong SecondRead()
        {
            ulong data = Fx.Put(0UL);
            var cmd = new IommuHwptGetDirtyBitmap { HwptId = _dirty, Flags = 1, Iova = Aperture, Length = 4 * Page, PageSize = MockPage, Data = data };
            MockFixture.Expect(Fx.Raw(IommufdIoctl.IOMMU_HWPT_GET_DIRTY_BITMAP, ref cmd), "second read");
            return Fx.Get<ulong>(data);
        }

        public void Dispose() => Fx.Dispose();
    }
}
