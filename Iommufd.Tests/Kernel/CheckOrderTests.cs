using System.Runtime.CompilerServices;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.MockDriver;
using Iommufd.Tests.Contract;
using Iommufd.Tests.Support;
using static Iommufd.Tests.Kernel.IoasCalls;

namespace Iommufd.Tests.Kernel;

/// <summary>
/// The order in which each command checks its arguments, one table per command. Every row breaks two or more
/// things at once and expects the errno of the check the kernel function it names makes first; a refused row must
/// leave the object table as it was. Rows run through the raw entry point on the mock.
/// </summary>
public class CheckOrderTests
{
    private const ulong Page = MockFixture.PageSize;
    private const uint NoSuchId = 999;
    private const ulong Unmapped = 0x10; // never user memory
    private const ulong UnmappedPage = 0x10_0000; // never user memory either, and page aligned
    private const int BadFd = 77; // never a file of the process

    /// <summary>One row: a name, a setup that returns the call under test, the errno and the kernel function.</summary>
    internal sealed record Row(string Name, Func<MockFixture, Func<Errno>> Arrange, Errno Expected, string Kernel)
    {
        public override string ToString() => Name;
    }

    internal static IEnumerable<TestCaseData> Dispatch() => Rows("dispatch",
        new("a number in the table with a foreign type reads the size first", fx => () => fx.File.Ioctl(('X' << 8) | 0x83u, Unmapped), Errno.EFAULT, "main.c iommufd_fops_ioctl(): get_user(size) before op->ioctl_num"),
        new("a number in the table with a foreign type", fx => () => fx.File.Ioctl(('X' << 8) | 0x83u, fx.Put(24u)), Errno.ENOTTY, "main.c iommufd_fops_ioctl(): ENOIOCTLCMD"),
        new("a number between the table's entries reads the size first", fx => () => fx.File.Ioctl(IommufdIoctl.Type << 8 | 0x9Fu, Unmapped), Errno.EFAULT, "main.c iommufd_fops_ioctl()"),
        new("a number below the table", fx => () => fx.File.Ioctl(IommufdIoctl.Type << 8 | 0x7Fu, Unmapped), Errno.ENOTTY, "main.c iommufd_fops_ioctl(): iommufd_vfio_ioctl()"),
        new("a size below min_size before a non-zero tail", fx => () => fx.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, fx.Put(4u, 0u, 0u, 0u, 1u)), Errno.EINVAL, "main.c iommufd_fops_ioctl(): min_size"),
        new("a non-zero tail before the handler's flags", fx => () => fx.File.Ioctl(IommufdIoctl.IOMMU_IOAS_ALLOC, fx.Put(16u, 1u, 0u, 1u)), Errno.E2BIG, "main.c iommufd_fops_ioctl(): copy_struct_from_user()"));

    internal static IEnumerable<TestCaseData> IoasMap() => Rows("IOAS_MAP",
        new("unknown flag before a missing IOAS", fx => () => fx.MapAt(NoSuchId, fx.GuestRam.Address, Page, 0, (IommuIoasMapFlags)0x80 | Rw), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_map()"),
        new("reserved before U64_MAX", fx => () => Map(fx, new IommuIoasMap { IoasId = NoSuchId, Reserved = 1, Length = ulong.MaxValue, Flags = (uint)Rw }), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_map()"),
        new("an IOVA of U64_MAX before no access", fx => () => Map(fx, new IommuIoasMap { IoasId = NoSuchId, Iova = ulong.MaxValue, Length = Page }), Errno.EOVERFLOW, "ioas.c iommufd_ioas_map()"),
        new("no access before the IOAS", fx => () => fx.MapAt(NoSuchId, fx.GuestRam.Address, Page, 0, 0), Errno.EINVAL, "ioas.c iommufd_ioas_map()"),
        new("the IOAS before the length", fx => () => fx.MapAt(NoSuchId, fx.GuestRam.Address, 0, 0), Errno.ENOENT, "ioas.c iommufd_ioas_map()"),
        new("user address overflow before the IOVA", fx => Occupied(fx, () => fx.MapAt(fx.IoasId, ulong.MaxValue - Page + 1, 2 * Page, 0x10000)), Errno.EOVERFLOW, "pages.c iopt_alloc_user_pages()"),
        new("length 0 before the IOVA", fx => Occupied(fx, () => fx.MapAt(fx.IoasId, fx.GuestRam.Address, 0, 0x10000)), Errno.EINVAL, "pages.c iopt_alloc_pages()"),
        new("an IOVA in use before the user pages", fx => Occupied(fx, () => fx.MapAt(fx.IoasId, Unmapped, Page, 0x10000)), Errno.EEXIST, "io_pagetable.c iopt_check_iova() before iopt_fill_domains_pages()"),
        new("IOVA overflow before the user pages", fx => () => fx.MapAt(fx.IoasId, Unmapped, 2 * Page, ulong.MaxValue - Page + 1), Errno.EOVERFLOW, "io_pagetable.c iopt_check_iova()"),
        new("a reserved IOVA before the user pages", fx => Attached(fx, () => fx.MapAt(fx.IoasId, Unmapped, Page, 0x1000)), Errno.EINVAL, "io_pagetable.c iopt_check_iova()"),
        new("an IOVA off the domain page before the user pages", fx => Attached(fx, () => fx.MapAt(fx.IoasId, Unmapped, Page, SelftestConstants.MockApertureStart + 0x10)), Errno.EINVAL, "io_pagetable.c iopt_check_iova()"),
        new("unmapped user pages with a domain", fx => Attached(fx, () => fx.MapAuto(fx.IoasId, UnmappedPage, Page, out _)), Errno.EFAULT, "io_pagetable.c iopt_fill_domains_pages(): pages.c pins the user pages"),
        new("unmapped user pages without a domain", fx => () => fx.MapAuto(fx.IoasId, Unmapped, Page, out _), Errno.Success, "pages.c: a lazy reference until a domain needs the pages"),
        new("an IOVA in use before RLIMIT_MEMLOCK", fx => NoMemlock(fx, Occupied(fx, () => fx.MapAt(fx.IoasId, fx.GuestRam.Address, Page, 0x10000))), Errno.EEXIST, "io_pagetable.c iopt_check_iova() before iopt_fill_domains_pages()"),
        new("unmapped user pages before RLIMIT_MEMLOCK", fx => NoMemlock(fx, Attached(fx, () => fx.MapAuto(fx.IoasId, UnmappedPage, Page, out _))), Errno.EFAULT, "pages.c pfn_reader_user_pin() before pfn_reader_update_pinned()"),
        new("RLIMIT_MEMLOCK with a domain", fx => NoMemlock(fx, Attached(fx, () => fx.MapAuto(fx.IoasId, fx.GuestRam.Address, Page, out _))), Errno.ENOMEM, "pages.c incr_user_locked_vm()"),
        new("RLIMIT_MEMLOCK without a domain", fx => NoMemlock(fx, () => fx.MapAuto(fx.IoasId, fx.GuestRam.Address, Page, out _)), Errno.Success, "pages.c: nothing is pinned, nothing is charged"));

    internal static IEnumerable<TestCaseData> IoasMapFile() => Rows("IOAS_MAP_FILE",
        new("unknown flag before a missing IOAS", fx => () => fx.MapFileAt(NoSuchId, BadFd, 0, Page, 0, (IommuIoasMapFlags)0x80 | Rw), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_map_file()"),
        new("an IOVA of U64_MAX before no access", fx => () => fx.MapFileAt(NoSuchId, BadFd, 0, Page, ulong.MaxValue, 0), Errno.EOVERFLOW, "ioas.c iommufd_ioas_map_file()"),
        new("a length of U64_MAX before no access", fx => () => fx.MapFileAt(NoSuchId, BadFd, 0, ulong.MaxValue, 0, 0), Errno.EOVERFLOW, "ioas.c iommufd_ioas_map_file()"),
        new("no access before the IOAS", fx => () => fx.MapFileAt(NoSuchId, BadFd, 0, Page, 0, 0), Errno.EINVAL, "ioas.c iommufd_ioas_map_file()"),
        new("the IOAS before length 0 and the fd", fx => () => fx.MapFileAt(NoSuchId, BadFd, 0, 0, 0), Errno.ENOENT, "ioas.c iommufd_ioas_map_file(): iommufd_get_ioas()"),
        new("length 0 before the fd", fx => () => fx.MapFileAt(fx.IoasId, BadFd, 0, 0, 0), Errno.EINVAL, "io_pagetable.c iopt_map_file_pages()"),
        new("a file range that wraps before the fd", fx => () => fx.MapFileAt(fx.IoasId, BadFd, ulong.MaxValue - Page + 1, 2 * Page, 0), Errno.EOVERFLOW, "io_pagetable.c iopt_map_file_pages(): check_add_overflow()"),
        new("an fd that names no file", fx => () => fx.MapFileAt(fx.IoasId, BadFd, 0, Page, 0), Errno.EBADF, "io_pagetable.c iopt_map_file_pages(): fget()"),
        new("a closed fd", fx => () => fx.MapFileAt(fx.IoasId, ClosedFile(fx), 0, Page, 0), Errno.EBADF, "io_pagetable.c iopt_map_file_pages(): fget()"),
        new("an IOVA in use before the file's pages", fx => Occupied(fx, () => fx.MapFileAt(fx.IoasId, File(fx, 0), 0, Page, 0x10000)), Errno.EEXIST, "io_pagetable.c iopt_check_iova() before iopt_fill_domains_pages()"),
        new("a length off the domain page before the file's pages", fx => Attached(fx, () => fx.MapFileAt(fx.IoasId, File(fx, 0), 0, 0x10, SelftestConstants.MockApertureStart)), Errno.EINVAL, "io_pagetable.c iopt_alloc_area_pages()"),
        new("pages past the end of the file with a domain", fx => Attached(fx, () => fx.MapFileAt(fx.IoasId, File(fx, (long)Page), 0, 2 * Page, SelftestConstants.MockApertureStart)), Errno.EINVAL, "pages.c pin_memfd_pages(): memfd_pin_folios() reads no page past i_size"),
        new("pages past the end of the file without a domain", fx => () => fx.MapFileAt(fx.IoasId, File(fx, 0), 0, Page, 0x10000), Errno.Success, "pages.c: a lazy reference until a domain needs the pages"));

    internal static IEnumerable<TestCaseData> IoasUnmap() => Rows("IOAS_UNMAP",
        new("the IOAS before U64_MAX", fx => () => fx.UnmapRange(NoSuchId, ulong.MaxValue, 0, out _), Errno.ENOENT, "ioas.c iommufd_ioas_unmap()"),
        new("U64_MAX before length 0", fx => () => fx.UnmapRange(fx.IoasId, ulong.MaxValue, 0, out _), Errno.EOVERFLOW, "ioas.c iommufd_ioas_unmap()"),
        new("length 0", fx => () => fx.UnmapRange(fx.IoasId, Page, 0, out _), Errno.EINVAL, "io_pagetable.c iopt_unmap_iova()"),
        new("a range that wraps", fx => () => fx.UnmapRange(fx.IoasId, ulong.MaxValue - Page, 2 * Page, out _), Errno.EOVERFLOW, "io_pagetable.c iopt_unmap_iova()"),
        new("a range with nothing in it", fx => () => fx.UnmapRange(fx.IoasId, Page, Page, out _), Errno.ENOENT, "ioas.c iommufd_ioas_unmap()"),
        new("all of an empty IOAS", fx => () => fx.UnmapRange(fx.IoasId, 0, ulong.MaxValue, out _), Errno.Success, "io_pagetable.c iopt_unmap_all()"));

    internal static IEnumerable<TestCaseData> IoasCopy() => Rows("IOAS_COPY",
        new("unknown flag before U64_MAX", fx => () => fx.Copy(NoSuchId, NoSuchId, ulong.MaxValue, Page, 0, (IommuIoasMapFlags)0x80), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_copy()"),
        new("a destination IOVA of U64_MAX before no access", fx => () => fx.Copy(NoSuchId, NoSuchId, 0, Page, ulong.MaxValue, IommuIoasMapFlags.FixedIova), Errno.EOVERFLOW, "ioas.c iommufd_ioas_copy()"),
        new("no access before the source", fx => () => fx.Copy(NoSuchId, NoSuchId, 0, Page, 0, IommuIoasMapFlags.FixedIova), Errno.EINVAL, "ioas.c iommufd_ioas_copy()"),
        new("the source before the length", fx => () => fx.Copy(fx.IoasId, NoSuchId, 0, 0, 0), Errno.ENOENT, "ioas.c iommufd_ioas_copy()"),
        new("length 0 before the destination", fx => () => fx.Copy(NoSuchId, fx.IoasId, 0, 0, 0), Errno.EINVAL, "io_pagetable.c iopt_get_pages()"),
        new("a source range that wraps before the destination", fx => () => fx.Copy(NoSuchId, fx.IoasId, ulong.MaxValue - Page, 2 * Page, 0), Errno.EOVERFLOW, "io_pagetable.c iopt_get_pages()"),
        new("an unmapped source before the destination", fx => () => fx.Copy(NoSuchId, fx.IoasId, Page, Page, 0), Errno.ENOENT, "io_pagetable.c iopt_get_pages()"),
        new("the destination", fx => Occupied(fx, () => fx.Copy(NoSuchId, fx.IoasId, 0x10000, Page, 0)), Errno.ENOENT, "ioas.c iommufd_ioas_copy()"),
        new("a destination IOVA in use", fx => Occupied(fx, () => fx.Copy(fx.IoasId, fx.IoasId, 0x10000, Page, 0x10000)), Errno.EEXIST, "io_pagetable.c iopt_check_iova()"));

    internal static IEnumerable<TestCaseData> IoasIovaRanges() => Rows("IOAS_IOVA_RANGES",
        new("reserved before the IOAS", fx => () => Ranges(fx, new IommuIoasIovaRanges { IoasId = NoSuchId, Reserved = 1 }), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_iova_ranges()"),
        new("the IOAS before the array", fx => () => Ranges(fx, new IommuIoasIovaRanges { IoasId = NoSuchId, NumIovas = 1, AllowedIovas = Unmapped }), Errno.ENOENT, "ioas.c iommufd_ioas_iova_ranges()"),
        new("an unwritable array", fx => () => Ranges(fx, new IommuIoasIovaRanges { IoasId = fx.IoasId, NumIovas = 1, AllowedIovas = Unmapped }), Errno.EFAULT, "ioas.c iommufd_ioas_iova_ranges(): copy_to_user()"),
        new("no array is only EMSGSIZE", fx => () => Ranges(fx, new IommuIoasIovaRanges { IoasId = fx.IoasId, AllowedIovas = Unmapped }), Errno.EMSGSIZE, "ioas.c iommufd_ioas_iova_ranges()"));

    internal static IEnumerable<TestCaseData> IoasAllowIovas() => Rows("IOAS_ALLOW_IOVAS",
        new("reserved before the IOAS", fx => () => Allow(fx, new IommuIoasAllowIovas { IoasId = NoSuchId, Reserved = 1 }), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_allow_iovas()"),
        new("the IOAS before the array", fx => () => Allow(fx, new IommuIoasAllowIovas { IoasId = NoSuchId, NumIovas = 1, AllowedIovas = Unmapped }), Errno.ENOENT, "ioas.c iommufd_ioas_allow_iovas()"),
        new("an unreadable array", fx => () => Allow(fx, new IommuIoasAllowIovas { IoasId = fx.IoasId, NumIovas = 1, AllowedIovas = Unmapped }), Errno.EFAULT, "ioas.c iommufd_ioas_load_iovas()"),
        new("a range of one byte", fx => () => fx.AllowIovas(fx.IoasId, Range(Page, Page)), Errno.EINVAL, "ioas.c iommufd_ioas_load_iovas()"),
        new("a bad range before one meeting a reservation", fx => Attached(fx, () => fx.AllowIovas(fx.IoasId, Range(0, Page), Range(2 * Page, Page))), Errno.EINVAL, "ioas.c iommufd_ioas_load_iovas() before iopt_set_allow_iova()"),
        new("a range meeting a reservation", fx => Attached(fx, () => fx.AllowIovas(fx.IoasId, Range(0, Page))), Errno.EADDRINUSE, "io_pagetable.c iopt_set_allow_iova()"));

    internal static IEnumerable<TestCaseData> Option() => Rows("OPTION",
        new("reserved before the option", fx => () => Opt(fx, new IommuOption { Reserved = 1, OptionId = 99 }), Errno.EOPNOTSUPP, "main.c iommufd_option()"),
        new("an unknown option", fx => () => Opt(fx, new IommuOption { OptionId = 99, Op = (ushort)IommuOptionOp.Get }), Errno.EOPNOTSUPP, "main.c iommufd_option()"),
        new("HUGE_PAGES: the IOAS before the op", fx => () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.HugePages, Op = 7, ObjectId = NoSuchId }), Errno.ENOENT, "ioas.c iommufd_ioas_option()"),
        new("HUGE_PAGES: an unknown op", fx => () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.HugePages, Op = 7, ObjectId = fx.IoasId }), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_option_huge_pages()"),
        new("HUGE_PAGES: value 2", fx => () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.HugePages, ObjectId = fx.IoasId, Val64 = 2 }), Errno.EINVAL, "ioas.c iommufd_ioas_option_huge_pages()"),
        new("RLIMIT_MODE: an object before the op", fx => () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.RlimitMode, Op = 7, ObjectId = 1 }), Errno.EOPNOTSUPP, "ioas.c iommufd_option_rlimit_mode()"),
        new("RLIMIT_MODE: CAP_SYS_RESOURCE before objects", fx => WithoutCapSysResource(fx, () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.RlimitMode, Val64 = 2 })), Errno.EPERM, "ioas.c iommufd_option_rlimit_mode(): capable(CAP_SYS_RESOURCE)"),
        new("RLIMIT_MODE: GET needs no CAP_SYS_RESOURCE", fx => WithoutCapSysResource(fx, () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.RlimitMode, Op = (ushort)IommuOptionOp.Get })), Errno.Success, "ioas.c iommufd_option_rlimit_mode()"),
        new("RLIMIT_MODE: objects before the value", fx => () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.RlimitMode, Val64 = 2 }), Errno.EBUSY, "ioas.c iommufd_option_rlimit_mode()"),
        new("RLIMIT_MODE: an unknown op", fx => () => Opt(fx, new IommuOption { OptionId = (uint)IommuOptionId.RlimitMode, Op = 7 }), Errno.EOPNOTSUPP, "ioas.c iommufd_option_rlimit_mode()"));

    internal static IEnumerable<TestCaseData> VfioIoas() => Rows("VFIO_IOAS",
        new("reserved before the op", fx => () => Vfio(fx, new IommuVfioIoas { Reserved = 1, Op = 9 }), Errno.EOPNOTSUPP, "vfio_compat.c iommufd_vfio_ioas()"),
        new("GET with none set", fx => () => Vfio(fx, new IommuVfioIoas { Op = (ushort)IommuVfioIoasOp.Get }), Errno.ENODEV, "vfio_compat.c get_compat_ioas()"),
        new("SET of no IOAS", fx => () => Vfio(fx, new IommuVfioIoas { Op = (ushort)IommuVfioIoasOp.Set, IoasId = NoSuchId }), Errno.ENOENT, "vfio_compat.c iommufd_vfio_ioas()"),
        new("an unknown op", fx => () => Vfio(fx, new IommuVfioIoas { Op = 9 }), Errno.EOPNOTSUPP, "vfio_compat.c iommufd_vfio_ioas()"),
        new("GET after the compat IOAS was destroyed and its ID reused", fx => CompatReused(fx, () => Vfio(fx, new IommuVfioIoas { Op = (ushort)IommuVfioIoasOp.Get })), Errno.ENODEV, "main.c iommufd_object_remove() clears ictx->vfio_ioas"));

    internal static IEnumerable<TestCaseData> HwptAlloc() => Rows("HWPT_ALLOC",
        new("reserved before the data", fx => () => Hwpt(fx, new IommuHwptAlloc { Reserved = 1, DataLen = 4, DevId = NoSuchId }), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("data length without a type before the device", fx => () => Hwpt(fx, new IommuHwptAlloc { DataLen = 4, DevId = NoSuchId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("a type without data before the device", fx => () => Hwpt(fx, new IommuHwptAlloc { DataType = (uint)IommuHwptDataType.Selftest, DevId = NoSuchId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("the device before the page table", fx => () => Hwpt(fx, new IommuHwptAlloc { DevId = NoSuchId, PtId = NoSuchId }), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("no page table is EINVAL, not ENOENT", fx => () => Hwpt(fx, new IommuHwptAlloc { DevId = fx.DevId, PtId = NoSuchId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("a device as the page table", fx => () => Hwpt(fx, new IommuHwptAlloc { DevId = fx.DevId, PtId = fx.DevId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("an IOAS: unknown flag", fx => () => Hwpt(fx, new IommuHwptAlloc { DevId = fx.DevId, PtId = fx.IoasId, Flags = 0x100 }), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_paging_alloc()"),
        new("a parent: flags before the parent", fx => Parent(fx, false, p => Nested(fx, p, IommuHwptAllocFlags.NestParent)), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_nested_alloc()"),
        new("a parent that is no nest parent", fx => Parent(fx, false, p => Nested(fx, p, 0)), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_nested_alloc()"),
        new("a parent: the driver before the fault queue", fx => Parent(fx, true, p => Nested(fx, p, IommuHwptAllocFlags.FaultIdValid, dataType: IommuHwptDataType.ArmSmmuV3, faultId: NoSuchId)), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_alloc(): the fault after the domain"),
        new("a parent: no fault queue", fx => Parent(fx, true, p => Nested(fx, p, IommuHwptAllocFlags.FaultIdValid, faultId: NoSuchId)), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("an IOAS: no fault queue", fx => () => Hwpt(fx, new IommuHwptAlloc { DevId = fx.DevId, PtId = fx.IoasId, Flags = (uint)IommuHwptAllocFlags.FaultIdValid, FaultId = NoSuchId }), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_alloc()"),
        new("a vIOMMU: flags", fx => Viommu(fx, v => Nested(fx, v, IommuHwptAllocFlags.NestParent)), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_viommu_alloc_hwpt_nested()"),
        new("a vIOMMU: the driver before the fault queue", fx => Viommu(fx, v => Nested(fx, v, IommuHwptAllocFlags.FaultIdValid, dataType: IommuHwptDataType.ArmSmmuV3, faultId: NoSuchId)), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_alloc(): the fault after the domain"));

    internal static IEnumerable<TestCaseData> HwptInvalidate() => Rows("HWPT_INVALIDATE",
        new("reserved before the entries", fx => () => Inval(fx, new IommuHwptInvalidate { Reserved = 1, EntryNum = 1, HwptId = NoSuchId }), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_invalidate()"),
        new("entries with no pointer before the object", fx => () => Inval(fx, new IommuHwptInvalidate { EntryNum = 1, EntryLen = 8, HwptId = NoSuchId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_invalidate()"),
        new("entries of length 0 before the object", fx => () => Inval(fx, new IommuHwptInvalidate { EntryNum = 1, DataUptr = Unmapped, HwptId = NoSuchId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_invalidate()"),
        new("no object", fx => () => Inval(fx, new IommuHwptInvalidate { HwptId = NoSuchId }), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_invalidate()"),
        new("an IOAS", fx => () => Inval(fx, new IommuHwptInvalidate { HwptId = fx.IoasId }), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_invalidate()"),
        new("a paging HWPT", fx => Parent(fx, true, p => () => Inval(fx, new IommuHwptInvalidate { HwptId = p })), Errno.EINVAL, "hw_pagetable.c iommufd_hwpt_invalidate()"));

    internal static IEnumerable<TestCaseData> DirtyTracking() => Rows("HWPT dirty tracking",
        new("SET: unknown flag before the HWPT", fx => () => SetDirty(fx, new IommuHwptSetDirtyTracking { Flags = 2, HwptId = NoSuchId }), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_set_dirty_tracking()"),
        new("SET: a nested HWPT is no paging HWPT", fx => Viommu(fx, v => fx.AllocNested(v) is var nested ? () => SetDirty(fx, new IommuHwptSetDirtyTracking { HwptId = nested }) : null!), Errno.ENOENT, "hw_pagetable.c iommufd_get_hwpt_paging()"),
        new("SET: a domain without dirty ops", fx => Parent(fx, true, p => () => SetDirty(fx, new IommuHwptSetDirtyTracking { HwptId = p, Flags = 1 })), Errno.EOPNOTSUPP, "io_pagetable.c iopt_set_dirty_tracking()"),
        new("GET: reserved before the HWPT", fx => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { Reserved = 1, HwptId = NoSuchId }), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_get_dirty_bitmap()"),
        new("GET: the HWPT before the range", fx => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = NoSuchId, Iova = 1, Length = ulong.MaxValue }), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_get_dirty_bitmap()"),
        new("GET: a wrapping range before the dirty ops", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = Page, Length = ulong.MaxValue, PageSize = Page })), Errno.EOVERFLOW, "io_pagetable.c iommufd_check_iova_range()"),
        new("GET: page size 0 before the dirty ops", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = Page, Length = Page })), Errno.EINVAL, "io_pagetable.c iommufd_check_iova_range()"),
        new("GET: a range off the page size before the dirty ops", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = 0x800, Length = Page, PageSize = Page })), Errno.EINVAL, "io_pagetable.c iommufd_check_iova_range()"),
        new("GET: a domain without dirty ops", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = Page, Length = Page, PageSize = Page })), Errno.EOPNOTSUPP, "io_pagetable.c iommu_read_and_clear_dirty()"));

    internal static IEnumerable<TestCaseData> DirtyTrackingOrder() => Rows("HWPT dirty tracking",
        new("SET: an IOAS is no paging HWPT", fx => () => SetDirty(fx, new IommuHwptSetDirtyTracking { HwptId = fx.IoasId, Flags = 1 }), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_set_dirty_tracking(): iommufd_get_hwpt_paging()"),
        new("SET: turning it off on a domain without dirty ops", fx => Parent(fx, true, p => () => SetDirty(fx, new IommuHwptSetDirtyTracking { HwptId = p })), Errno.EOPNOTSUPP, "io_pagetable.c iopt_set_dirty_tracking(): no dirty_ops, whatever enable is"),
        new("SET: a dirty domain turned on", fx => Dirty(fx, h => () => SetDirty(fx, new IommuHwptSetDirtyTracking { HwptId = h, Flags = 1 })), Errno.Success, "io_pagetable.c iopt_set_dirty_tracking(): iopt_clear_dirty_data(), then set_dirty_tracking()"),
        new("GET: unknown flag before the HWPT", fx => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { Flags = 2, HwptId = NoSuchId }), Errno.EOPNOTSUPP, "hw_pagetable.c iommufd_hwpt_get_dirty_bitmap()"),
        new("GET: an IOAS is no paging HWPT", fx => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = fx.IoasId, Iova = Page, Length = Page, PageSize = Page }), Errno.ENOENT, "hw_pagetable.c iommufd_hwpt_get_dirty_bitmap(): iommufd_get_hwpt_paging()"),
        new("GET: a wrapping range before page size 0", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = Page, Length = ulong.MaxValue })), Errno.EOVERFLOW, "io_pagetable.c iommufd_check_iova_range(): check_add_overflow() first"),
        new("GET: length 0 wraps", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = Page, PageSize = Page })), Errno.EOVERFLOW, "io_pagetable.c iommufd_check_iova_range(): iova + (0 - 1)"),
        new("GET: a range off the IOAS's alignment before the dirty ops", fx => Parent(fx, true, p => () => GetDirty(fx, new IommuHwptGetDirtyBitmap { HwptId = p, Iova = 0x400, Length = 0x800, PageSize = 0x400 })), Errno.EINVAL, "io_pagetable.c iommufd_check_iova_range(): iopt->iova_alignment, the mock domain's 2 KiB page"));

    internal static IEnumerable<TestCaseData> IoasAlloc() => Rows("IOAS_ALLOC",
        new("flags", fx => () => IoasAllocRaw(fx, new IommuIoasAlloc { Flags = 1 }), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_alloc_ioctl()"),
        new("no flags", fx => () => IoasAllocRaw(fx, default), Errno.Success, "ioas.c iommufd_ioas_alloc_ioctl()"));

    internal static IEnumerable<TestCaseData> IoasChangeProcess() => Rows("IOAS_CHANGE_PROCESS",
        new("reserved before the mappings", fx => Occupied(fx, () => ChangeProcess(fx, new IommuIoasChangeProcess { Reserved = 1 })), Errno.EOPNOTSUPP, "ioas.c iommufd_ioas_change_process()"),
        new("a mapping of user memory", fx => Occupied(fx, () => ChangeProcess(fx, default)), Errno.EINVAL, "ioas.c iommufd_ioas_change_process(): pages->type != IOPT_ADDRESS_FILE"),
        new("nothing mapped", fx => () => ChangeProcess(fx, default), Errno.Success, "ioas.c iommufd_ioas_change_process()"));

    internal static IEnumerable<TestCaseData> FaultQueueAlloc() => Rows("FAULT_QUEUE_ALLOC",
        new("flags", fx => () => FaultAlloc(fx, new IommuFaultAlloc { Flags = 1 }), Errno.EOPNOTSUPP, "eventq.c iommufd_fault_alloc()"),
        new("no flags", fx => () => FaultAlloc(fx, default), Errno.Success, "eventq.c iommufd_fault_alloc()"));

    internal static IEnumerable<TestCaseData> VfioType1() => Rows("VFIO type1",
        new("MAP_DMA: an unreadable struct before argsz", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_MAP_DMA, Unmapped), Errno.EFAULT, "vfio_compat.c iommufd_vfio_map_dma(): copy_from_user()"),
        new("MAP_DMA: argsz below minsz before the compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_MAP_DMA, fx.Put(new VfioIommuType1DmaMap { Argsz = 8 })), Errno.EINVAL, "vfio_compat.c iommufd_vfio_map_dma()"),
        new("MAP_DMA: VADDR before the compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_MAP_DMA, fx.Put(new VfioIommuType1DmaMap { Argsz = 32, Flags = VfioIoctl.VFIO_DMA_MAP_FLAG_VADDR })), Errno.EINVAL, "vfio_compat.c iommufd_vfio_map_dma(): supported_flags"),
        new("MAP_DMA: no compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_MAP_DMA, fx.Put(new VfioIommuType1DmaMap { Argsz = 32 })), Errno.ENODEV, "vfio_compat.c get_compat_ioas()"),
        new("MAP_DMA: neither READ nor WRITE maps", fx => Compat(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_MAP_DMA, fx.Put(new VfioIommuType1DmaMap { Argsz = 32, Vaddr = fx.GuestRam.Address, Iova = 0x10000, Size = Page }))), Errno.Success, "vfio_compat.c iommufd_vfio_map_dma(): IOMMU_CACHE alone reaches iopt_map_user_pages()"),
        new("MAP_DMA: an IOVA in use", fx => Compat(fx, Occupied(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_MAP_DMA, fx.Put(new VfioIommuType1DmaMap { Argsz = 32, Flags = VfioIoctl.VFIO_DMA_MAP_FLAG_READ, Vaddr = fx.GuestRam.Address, Iova = 0x10000, Size = Page })))), Errno.EEXIST, "io_pagetable.c iopt_check_iova()"),
        new("UNMAP_DMA: an unreadable struct before argsz", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, Unmapped), Errno.EFAULT, "vfio_compat.c iommufd_vfio_unmap_dma(): copy_from_user()"),
        new("UNMAP_DMA: GET_DIRTY_BITMAP before the compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Flags = VfioIoctl.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP })), Errno.EINVAL, "vfio_compat.c iommufd_vfio_unmap_dma(): only UNMAP_ALL"),
        new("UNMAP_DMA: no compat IOAS before size 0", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24 })), Errno.ENODEV, "vfio_compat.c get_compat_ioas()"),
        new("UNMAP_DMA: UNMAP_ALL with an IOVA", fx => Compat(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Flags = VfioIoctl.VFIO_DMA_UNMAP_FLAG_ALL, Iova = Page }))), Errno.EINVAL, "vfio_compat.c iommufd_vfio_unmap_dma()"),
        new("UNMAP_DMA: UNMAP_ALL of nothing", fx => Compat(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Flags = VfioIoctl.VFIO_DMA_UNMAP_FLAG_ALL }))), Errno.Success, "io_pagetable.c iopt_unmap_all()"),
        new("UNMAP_DMA: size 0", fx => Compat(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Iova = Page }))), Errno.EINVAL, "io_pagetable.c iopt_unmap_iova()"),
        new("UNMAP_DMA: a range that wraps", fx => Compat(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Iova = ulong.MaxValue - Page + 1, Size = 2 * Page }))), Errno.EOVERFLOW, "io_pagetable.c iopt_unmap_iova()"),
        new("UNMAP_DMA: a range with nothing in it", fx => Compat(fx, () => Type1(fx, VfioIoctl.VFIO_IOMMU_UNMAP_DMA, fx.Put(new VfioIommuType1DmaUnmap { Argsz = 24, Iova = Page, Size = Page }))), Errno.ENOENT, "io_pagetable.c iopt_unmap_iova_range(): rc stays -ENOENT with nothing unmapped"),
        new("GET_INFO: an unreadable struct before argsz", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_GET_INFO, Unmapped), Errno.EFAULT, "vfio_compat.c iommufd_vfio_iommu_get_info(): copy_from_user()"),
        new("GET_INFO: argsz below minsz before the compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_GET_INFO, fx.Put(new VfioIommuType1Info { Argsz = 8 })), Errno.EINVAL, "vfio_compat.c iommufd_vfio_iommu_get_info()"),
        new("GET_INFO: no compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_IOMMU_GET_INFO, fx.Put(new VfioIommuType1Info { Argsz = 16 })), Errno.ENODEV, "vfio_compat.c get_compat_ioas()"),
        new("SET_IOMMU: a type other than TYPE1 or TYPE1v2 before the compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_SET_IOMMU, VfioIoctl.VFIO_NOIOMMU_IOMMU), Errno.EINVAL, "vfio_compat.c iommufd_vfio_set_iommu()"),
        new("SET_IOMMU: no compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_SET_IOMMU, VfioIoctl.VFIO_TYPE1v2_IOMMU), Errno.ENODEV, "vfio_compat.c iommufd_vfio_set_iommu(): VFIO has no group"),
        new("CHECK_EXTENSION: TYPE1 needs no compat IOAS", fx => () => Type1(fx, VfioIoctl.VFIO_CHECK_EXTENSION, VfioIoctl.VFIO_TYPE1_IOMMU), Errno.Success, "vfio_compat.c iommufd_vfio_check_extension()"),
        new("CHECK_EXTENSION: DMA_CC_IOMMU does", fx => () => Type1(fx, VfioIoctl.VFIO_CHECK_EXTENSION, VfioIoctl.VFIO_DMA_CC_IOMMU), Errno.ENODEV, "vfio_compat.c iommufd_vfio_cc_iommu()"));

    internal static IEnumerable<TestCaseData> TestCmd() => Rows("TEST_CMD",
        new("an unknown op", fx => () => Test(fx, new IommuTestCmd { Op = 999, Id = NoSuchId }), Errno.EOPNOTSUPP, "selftest.c iommufd_test(): default"),
        new("MOCK_DOMAIN_FLAGS: unknown device flags before the page table", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.MockDomainFlags, Id = NoSuchId, MockDomainFlagsDevFlags = 1u << 30 }), Errno.EINVAL, "selftest.c iommufd_test_mock_domain(): mock_dev_create() before iommufd_device_attach()"),
        new("MOCK_DOMAIN: no page table", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.MockDomain, Id = NoSuchId }), Errno.ENOENT, "selftest.c iommufd_test_mock_domain(): iommufd_device_attach()"),
        new("MD_CHECK_MAP: an IOVA off the mock page before the HWPT", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.MdCheckMap, Id = NoSuchId, CheckMapIova = 0x10 }), Errno.EINVAL, "selftest.c iommufd_test_md_check_pa()"),
        new("MD_CHECK_MAP: no HWPT", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.MdCheckMap, Id = NoSuchId }), Errno.ENOENT, "selftest.c iommufd_test_md_check_pa(): get_md_pagetable()"),
        new("CREATE_ACCESS: flags before the IOAS", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = NoSuchId, CreateAccessFlags = 2 }), Errno.EOPNOTSUPP, "selftest.c iommufd_test_create_access()"),
        new("CREATE_ACCESS: no IOAS", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.CreateAccess, Id = NoSuchId }), Errno.ENOENT, "selftest.c iommufd_test_create_access(): iommufd_access_attach()"),
        new("ACCESS_PAGES: more than 16 MiB before the flags", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.AccessPages, Id = NoSuchId, AccessPagesFlags = 2, AccessPagesLength = (16 << 20) + 1 }), Errno.ENOMEM, "selftest.c iommufd_test_access_pages()"),
        new("ACCESS_PAGES: flags before the access", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.AccessPages, Id = NoSuchId, AccessPagesFlags = 2 }), Errno.EOPNOTSUPP, "selftest.c iommufd_test_access_pages()"),
        new("ACCESS_PAGES: an fd that is no access", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.AccessPages, Id = NoSuchId }), Errno.EBADFD, "selftest.c iommufd_access_get()"),
        new("ACCESS_PAGES: a hole before an unwritable area", fx => Pin(fx, (Rw, 0), (IommuIoasMapFlags.Readable, 2), 3, write: true), Errno.ENOENT, "device.c iommufd_access_pin_pages(): iopt_for_each_contig_area() stops at the hole, iopt_area_contig_done()"),
        new("ACCESS_PAGES: an unwritable area before a hole", fx => Pin(fx, (Rw, 0), (IommuIoasMapFlags.Readable, 1), 3, write: true), Errno.EPERM, "device.c iommufd_access_pin_pages(): check_area_prot() in the walk before iopt_area_contig_done()"),
        new("ACCESS_PAGES: an IOVA off the CPU page before an unwritable area", fx => Pin(fx, (IommuIoasMapFlags.Readable, 0), (Rw, 1), 1, write: true, offset: 0x10), Errno.EINVAL, "device.c iommufd_access_pin_pages(): iopt_area_contig_is_aligned() before check_area_prot()"),
        new("ACCESS_PAGES: an area ending inside a CPU page before a hole", fx => PinShortFirst(fx), Errno.EINVAL, "device.c iopt_area_contig_is_aligned(): an area the walk goes on from ends on a page"),
        new("ACCESS_PAGES: an area an unmap is emptying before its missing WRITE", fx => Emptying(fx, 0x10000, IommuIoasMapFlags.Readable, fd => () => TestCmdTests.AccessPages(fx, fd, 0x10000, Page, 0, write: true, out _)), Errno.EINVAL, "device.c iommufd_access_pin_pages(): area->prevent_access (set by io_pagetable.c iopt_unmap_iova_range()) before check_area_prot()"),
        new("ACCESS_PAGES: a write-only area read", fx => Pin(fx, (IommuIoasMapFlags.Writeable, 0), (Rw, 1), 2, write: false), Errno.EPERM, "device.c check_area_prot(): IOMMU_READ without IOMMUFD_ACCESS_RW_WRITE"),
        new("ACCESS_PAGES: memory the process lacks before a later unwritable area", fx => Pin(fx, (Rw, 0), (IommuIoasMapFlags.Readable, 1), 2, write: true, firstUserVa: UnmappedPage), Errno.EFAULT, "device.c iommufd_access_pin_pages(): iopt_area_add_access() of each area before the next one's check_area_prot()"),
        new("ACCESS_RW: more than 16 MiB before the flags", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.AccessRw, Id = NoSuchId, AccessRwFlags = 2, AccessRwLength = (16 << 20) + 1 }), Errno.ENOMEM, "selftest.c iommufd_test_access_rw()"),
        new("ACCESS_RW: flags before the access", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.AccessRw, Id = NoSuchId, AccessRwFlags = 2 }), Errno.EOPNOTSUPP, "selftest.c iommufd_test_access_rw()"),
        new("DIRTY: page size 0 before the HWPT", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.Dirty, Id = NoSuchId, DirtyLength = Page, DirtyUptr = Unmapped }), Errno.EINVAL, "selftest.c iommufd_test_dirty()"),
        new("DIRTY: no HWPT before the bitmap", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.Dirty, Id = NoSuchId, DirtyLength = Page, DirtyPageSize = Page, DirtyUptr = Unmapped }), Errno.ENOENT, "selftest.c iommufd_test_dirty(): get_md_pagetable()"),
        new("SET_TEMP_MEMORY_LIMIT: below one batch element", fx => () => Test(fx, new IommuTestCmd { Op = (uint)IommuTestOp.SetTempMemoryLimit, MemoryLimitLimit = 11 }), Errno.EINVAL, "selftest.c iommufd_test(): sizeof(unsigned long) + sizeof(u32)"));

    internal static IEnumerable<TestCaseData> GetHwInfo() => Rows("GET_HW_INFO",
        new("unknown flag before the device", fx => () => HwInfo(fx, new IommuHwInfo { Flags = 2, DevId = NoSuchId }), Errno.EOPNOTSUPP, "device.c iommufd_get_hw_info()"),
        new("reserved before the device", fx => () => HwInfo(fx, WithReserved(new IommuHwInfo { DevId = NoSuchId })), Errno.EOPNOTSUPP, "device.c iommufd_get_hw_info()"),
        new("the device before the buffer", fx => () => HwInfo(fx, new IommuHwInfo { DevId = NoSuchId, DataLen = 8, DataUptr = Unmapped }), Errno.ENOENT, "device.c iommufd_get_hw_info()"),
        new("an unwritable buffer", fx => () => HwInfo(fx, new IommuHwInfo { DevId = fx.DevId, DataLen = 8, DataUptr = Unmapped }), Errno.EFAULT, "device.c iommufd_get_hw_info(): copy_to_user()"));

    internal static IEnumerable<TestCaseData> ViommuAlloc() => Rows("VIOMMU_ALLOC",
        new("flags before the device", fx => () => Vi(fx, new IommuViommuAlloc { Flags = 1, Type = (uint)IommuViommuType.Selftest, DevId = NoSuchId }), Errno.EOPNOTSUPP, "viommu.c iommufd_viommu_alloc_ioctl()"),
        new("type DEFAULT before the device", fx => () => Vi(fx, new IommuViommuAlloc { DevId = NoSuchId }), Errno.EOPNOTSUPP, "viommu.c iommufd_viommu_alloc_ioctl()"),
        new("the device before the type", fx => () => Vi(fx, new IommuViommuAlloc { Type = 99, DevId = NoSuchId }), Errno.ENOENT, "viommu.c iommufd_viommu_alloc_ioctl()"),
        new("a type the driver lacks before the HWPT", fx => () => Vi(fx, new IommuViommuAlloc { Type = 99, DevId = fx.DevId, HwptId = NoSuchId }), Errno.EOPNOTSUPP, "viommu.c iommufd_viommu_alloc_ioctl(): get_viommu_size()"),
        new("an IOAS is no paging HWPT", fx => () => Vi(fx, new IommuViommuAlloc { Type = (uint)IommuViommuType.Selftest, DevId = fx.DevId, HwptId = fx.IoasId }), Errno.ENOENT, "viommu.c iommufd_viommu_alloc_ioctl(): iommufd_get_hwpt_paging()"),
        new("a HWPT that is no nest parent", fx => Parent(fx, false, p => () => Vi(fx, new IommuViommuAlloc { Type = (uint)IommuViommuType.Selftest, DevId = fx.DevId, HwptId = p })), Errno.EINVAL, "viommu.c iommufd_viommu_alloc_ioctl()"));

    internal static IEnumerable<TestCaseData> VdeviceAlloc() => Rows("VDEVICE_ALLOC",
        new("the vIOMMU before the device", fx => () => Vd(fx, new IommuVdeviceAlloc { ViommuId = NoSuchId, DevId = NoSuchId }), Errno.ENOENT, "viommu.c iommufd_vdevice_alloc_ioctl()"),
        new("the device", fx => Viommu(fx, v => () => Vd(fx, new IommuVdeviceAlloc { ViommuId = v, DevId = NoSuchId })), Errno.ENOENT, "viommu.c iommufd_vdevice_alloc_ioctl()"),
        new("a device with a vDEVICE before the virtual ID", fx => Viommu(fx, v => Then(fx.AllocVdevice(v, fx.DevId, 5, out _), () => Vd(fx, new IommuVdeviceAlloc { ViommuId = v, DevId = fx.DevId, VirtId = 5 }))), Errno.EEXIST, "viommu.c iommufd_vdevice_alloc_ioctl(): idev->vdev"));

    internal static IEnumerable<TestCaseData> VeventqAlloc() => Rows("VEVENTQ_ALLOC",
        new("flags before the depth", fx => () => Veq(fx, new IommuVeventqAlloc { Flags = 1, Type = (uint)IommuVeventqType.Selftest, ViommuId = NoSuchId }), Errno.EOPNOTSUPP, "eventq.c iommufd_veventq_alloc()"),
        new("type DEFAULT before the depth", fx => () => Veq(fx, new IommuVeventqAlloc { ViommuId = NoSuchId }), Errno.EOPNOTSUPP, "eventq.c iommufd_veventq_alloc()"),
        new("depth 0 before the vIOMMU", fx => () => Veq(fx, new IommuVeventqAlloc { Type = (uint)IommuVeventqType.Selftest, ViommuId = NoSuchId }), Errno.EINVAL, "eventq.c iommufd_veventq_alloc()"),
        new("the vIOMMU", fx => () => Veq(fx, new IommuVeventqAlloc { Type = (uint)IommuVeventqType.Selftest, VeventqDepth = 2, ViommuId = NoSuchId }), Errno.ENOENT, "eventq.c iommufd_veventq_alloc()"));

    internal static IEnumerable<TestCaseData> HwQueueAlloc() => Rows("HW_QUEUE_ALLOC",
        new("flags before the length", fx => () => Hwq(fx, new IommuHwQueueAlloc { Flags = 1, Type = (uint)IommuHwQueueType.Selftest, ViommuId = NoSuchId }), Errno.EOPNOTSUPP, "viommu.c iommufd_hw_queue_alloc_ioctl()"),
        new("type DEFAULT before the length", fx => () => Hwq(fx, new IommuHwQueueAlloc { ViommuId = NoSuchId }), Errno.EOPNOTSUPP, "viommu.c iommufd_hw_queue_alloc_ioctl()"),
        new("length 0 before the vIOMMU", fx => () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, ViommuId = NoSuchId }), Errno.EINVAL, "viommu.c iommufd_hw_queue_alloc_ioctl()"),
        new("a wrapping range before the vIOMMU", fx => () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, NestingParentIova = ulong.MaxValue, Length = 2, ViommuId = NoSuchId }), Errno.EOVERFLOW, "viommu.c iommufd_hw_queue_alloc_ioctl()"),
        new("the vIOMMU", fx => () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, Length = Page, ViommuId = NoSuchId }), Errno.ENOENT, "viommu.c iommufd_hw_queue_alloc_ioctl()"),
        new("a type the driver lacks before the pages", fx => Viommu(fx, v => () => Hwq(fx, new IommuHwQueueAlloc { Type = 99, Length = Page, NestingParentIova = Page, ViommuId = v })), Errno.EOPNOTSUPP, "viommu.c iommufd_hw_queue_alloc_ioctl(): get_hw_queue_size()"),
        new("unmapped pages", fx => Viommu(fx, v => () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, Length = Page, NestingParentIova = Page, ViommuId = v })), Errno.ENOENT, "device.c iommufd_access_pin_pages()"),
        new("a hole before an area mapped without READABLE", fx => Viommu(fx, v => Then(fx.MapGuestRamAt(0, Page, SelftestConstants.MockApertureStart, Rw), Then(fx.MapGuestRamAt(2 * Page, Page, SelftestConstants.MockApertureStart + (2 * Page), IommuIoasMapFlags.Writeable), () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, Length = 3 * Page, NestingParentIova = SelftestConstants.MockApertureStart, ViommuId = v })))), Errno.ENOENT, "device.c iommufd_access_pin_pages(): iopt_area_contig_next() ends the walk at the hole, so check_area_prot() never sees the area after it"),
        new("an area mapped without READABLE before a hole", fx => Viommu(fx, v => Then(fx.MapGuestRamAt(0, Page, SelftestConstants.MockApertureStart, Rw), Then(fx.MapGuestRamAt(Page, Page, SelftestConstants.MockApertureStart + Page, IommuIoasMapFlags.Writeable), () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, Length = 3 * Page, NestingParentIova = SelftestConstants.MockApertureStart, ViommuId = v })))), Errno.EPERM, "device.c iommufd_access_pin_pages(): check_area_prot() of each area the walk reaches, before iopt_area_contig_done() finds the hole"),
        new("an area an unmap is emptying before its missing READABLE", fx => Viommu(fx, v => Emptying(fx, SelftestConstants.MockApertureStart, IommuIoasMapFlags.Writeable, _ => () => Hwq(fx, new IommuHwQueueAlloc { Type = (uint)IommuHwQueueType.Selftest, Length = Page, NestingParentIova = SelftestConstants.MockApertureStart, ViommuId = v }))), Errno.EINVAL, "viommu.c iommufd_hw_queue_alloc_phys() → device.c iommufd_access_pin_pages(): area->prevent_access (set by io_pagetable.c iopt_unmap_iova_range()) before check_area_prot()"));

    internal static IEnumerable<TestCaseData> Destroy() => Rows("DESTROY",
        new("no object", fx => () => fx.File.RawDestroy(NoSuchId), Errno.ENOENT, "main.c iommufd_object_remove()"),
        new("an IOAS a HWPT depends on", fx => Parent(fx, true, _ => () => fx.File.RawDestroy(fx.IoasId)), Errno.EBUSY, "main.c iommufd_object_remove(): refcount_dec_if_one()"));

    [TestCaseSource(nameof(Dispatch))]
    [TestCaseSource(nameof(IoasMap))]
    [TestCaseSource(nameof(IoasMapFile))]
    [TestCaseSource(nameof(IoasUnmap))]
    [TestCaseSource(nameof(IoasCopy))]
    [TestCaseSource(nameof(IoasIovaRanges))]
    [TestCaseSource(nameof(IoasAllowIovas))]
    [TestCaseSource(nameof(Option))]
    [TestCaseSource(nameof(VfioIoas))]
    [TestCaseSource(nameof(HwptAlloc))]
    [TestCaseSource(nameof(HwptInvalidate))]
    [TestCaseSource(nameof(DirtyTracking))]
    [TestCaseSource(nameof(DirtyTrackingOrder))]
    [TestCaseSource(nameof(IoasAlloc))]
    [TestCaseSource(nameof(IoasChangeProcess))]
    [TestCaseSource(nameof(FaultQueueAlloc))]
    [TestCaseSource(nameof(VfioType1))]
    [TestCaseSource(nameof(TestCmd))]
    [TestCaseSource(nameof(GetHwInfo))]
    [TestCaseSource(nameof(ViommuAlloc))]
    [TestCaseSource(nameof(VdeviceAlloc))]
    [TestCaseSource(nameof(VeventqAlloc))]
    [TestCaseSource(nameof(HwQueueAlloc))]
    [TestCaseSource(nameof(Destroy))]
    public void The_first_check_the_kernel_makes_decides_the_errno(object testRow)
    {
        var row = (Row)testRow; // Row names the internal fixture, so the public test method takes it as an object
        using var fx = new MockFixture();
        var call = row.Arrange(fx);
        int objects = fx.File.ObjectCount;

        var rc = call();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(row.Expected), row.Kernel);
            if (row.Expected != Errno.Success)
            {
                Assert.That(fx.File.ObjectCount, Is.EqualTo(objects), "a refused call leaves the object table as it was");
            }
        }
    }

    private static IEnumerable<TestCaseData> Rows(string command, params Row[] rows) =>
        rows.Select(r => new TestCaseData(r).SetName($"{command}: {r.Name}"));

    /// <summary>A memfd of the fixture's process holding <paramref name="size"/> bytes; returns its fd.</summary>
    private static int File(MockFixture fx, long size)
    {
        var memfd = fx.Process.CreateMemfd("check-order");
        MockFixture.Expect(memfd.Truncate(size), "ftruncate");
        return memfd.Fd;
    }

    /// <summary>The fd a memfd had before it was closed.</summary>
    private static int ClosedFile(MockFixture fx)
    {
        var memfd = fx.Process.CreateMemfd("closed");
        memfd.Dispose();
        return memfd.Fd;
    }

    /// <summary>The fixture's process with an RLIMIT_MEMLOCK of 0.</summary>
    private static Func<Errno> NoMemlock(MockFixture fx, Func<Errno> call)
    {
        fx.Process.MemlockLimit = 0;
        return call;
    }

    /// <summary>The fixture's process without CAP_SYS_RESOURCE.</summary>
    private static Func<Errno> WithoutCapSysResource(MockFixture fx, Func<Errno> call)
    {
        fx.Process.CapSysResource = false;
        return call;
    }

    /// <summary>
    /// Two one-page areas of the fixture's IOAS at IOVA 0x10000 + page * Page, each with its map flags, the first
    /// over <paramref name="firstUserVa"/> (guest RAM by default); the call pins <paramref name="pages"/> pages from
    /// 0x10000 through a new pinning access (selftest.c iommufd_test_access_pages()).
    /// </summary>
    private static Func<Errno> Pin(MockFixture fx, (IommuIoasMapFlags Flags, ulong Page) first, (IommuIoasMapFlags Flags, ulong Page) second, ulong pages, bool write, ulong firstUserVa = 0, ulong offset = 0)
    {
        const ulong at = 0x10000;
        MockFixture.Expect(fx.MapAt(fx.IoasId, firstUserVa == 0 ? fx.GuestRam.Address : firstUserVa, Page, at + first.Page * Page, first.Flags), "first area");
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address + Page, Page, at + second.Page * Page, second.Flags), "second area");
        int fd = TestCmdTests.CreateAccess(fx, fx.IoasId, needsPinPages: true);
        return () => TestCmdTests.AccessPages(fx, fd, at + offset, pages * Page - offset, 0, write, out _);
    }

    /// <summary>
    /// Two areas of half a page each at IOVA 0x10000 over one page of guest RAM (no domain, so the IOVA alignment is
    /// 1), a hole after them, and a call that pins two pages from 0x10000 through a new pinning access: the walk meets
    /// the first area's end in the middle of a CPU page before it reaches the hole.
    /// </summary>
    private static Func<Errno> PinShortFirst(MockFixture fx)
    {
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, Page / 2, 0x10000), "half a page");
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address + Page / 2, Page / 2, 0x10000 + Page / 2), "the other half");
        int fd = TestCmdTests.CreateAccess(fx, fx.IoasId, needsPinPages: true);
        return () => TestCmdTests.AccessPages(fx, fd, 0x10000, 2 * Page, 0, write: true, out _);
    }

    /// <summary>
    /// One page of guest RAM mapped at <paramref name="iova"/> with <paramref name="flags"/>, pinned through an access
    /// that keeps its pins when told to unmap (the emulation's CREATE_ACCESS flag: selftest.c's accesses always let
    /// go), and an unmap of it that gave up: io_pagetable.c iopt_unmap_iova_range() set the area's prevent_access
    /// before it notified the accesses, and nothing clears it while the area lives. The call is given the access's fd.
    /// </summary>
    private static Func<Errno> Emptying(MockFixture fx, ulong iova, IommuIoasMapFlags flags, Func<int, Func<Errno>> call)
    {
        MockFixture.Expect(fx.MapGuestRamAt(0, Page, iova, flags), "map");
        int fd = TestCmdTests.CreateAccess(fx, fx.IoasId, needsPinPages: true, flags: MockSelftest.KeepPinsOnUnmap);
        MockFixture.Expect(TestCmdTests.AccessPages(fx, fd, iova, Page, 0, write: (flags & IommuIoasMapFlags.Writeable) != 0, out _), "pin");
        Assert.That(fx.UnmapRange(fx.IoasId, iova, Page, out _), Is.EqualTo(Errno.EDEADLK), "the unmap gave up on the pinned area");
        return call(fd);
    }

    /// <summary>The fixture's IOAS with one page mapped at IOVA 0x10000.</summary>
    private static Func<Errno> Occupied(MockFixture fx, Func<Errno> call)
    {
        MockFixture.Expect(fx.MapAt(fx.IoasId, fx.GuestRam.Address, Page, 0x10000), "map at 0x10000");
        return call;
    }

    /// <summary>dev0 attached to the fixture's IOAS: the mock's aperture is reserved and IOVAs align to its page.</summary>
    private static Func<Errno> Attached(MockFixture fx, Func<Errno> call)
    {
        MockFixture.Expect(fx.Attach(fx.IoasId), "attach");
        return call;
    }

    /// <summary>A compat IOAS set, destroyed, and its ID given to a new IOAS.</summary>
    private static Func<Errno> CompatReused(MockFixture fx, Func<Errno> call)
    {
        uint compat = fx.AllocIoas();
        MockFixture.Expect(Vfio(fx, new IommuVfioIoas { Op = (ushort)IommuVfioIoasOp.Set, IoasId = compat }), "VFIO_IOAS SET");
        MockFixture.Expect(fx.File.RawDestroy(compat), "destroy");
        Assert.That(fx.AllocIoas(), Is.EqualTo(compat), "the ID is reused");
        return call;
    }

    private static Func<Errno> Parent(MockFixture fx, bool nestParent, Func<uint, Func<Errno>> call) =>
        call(fx.AllocPaging(nestParent ? IommuHwptAllocFlags.NestParent : 0));

    private static Func<Errno> Viommu(MockFixture fx, Func<uint, Func<Errno>> call) => call(fx.SetUpViommu().ViommuId);

    private static Func<Errno> Then(Errno setup, Func<Errno> call)
    {
        MockFixture.Expect(setup, "setup");
        return call;
    }

    private static Func<Errno> Nested(MockFixture fx, uint ptId, IommuHwptAllocFlags flags, IommuHwptDataType dataType = IommuHwptDataType.Selftest, uint faultId = 0)
    {
        ulong data = fx.Put(new IommuHwptSelftest { Iotlb = MockFixture.IotlbDefault });
        return () => fx.AllocHwpt(fx.DevId, ptId, flags, out _, dataType, data, (uint)Unsafe.SizeOf<IommuHwptSelftest>(), faultId);
    }

    /// <summary>The fixture's IOAS as the compat IOAS (IOMMU_VFIO_IOAS SET).</summary>
    private static Func<Errno> Compat(MockFixture fx, Func<Errno> call)
    {
        MockFixture.Expect(Vfio(fx, new IommuVfioIoas { Op = (ushort)IommuVfioIoasOp.Set, IoasId = fx.IoasId }), "VFIO_IOAS SET");
        return call;
    }

    /// <summary>A dirty-tracking paging HWPT on the fixture's IOAS, handed to <paramref name="call"/>.</summary>
    private static Func<Errno> Dirty(MockFixture fx, Func<uint, Func<Errno>> call) =>
        call(fx.AllocPaging(IommuHwptAllocFlags.DirtyTracking));

    private static Errno Type1(MockFixture fx, uint request, ulong argument) => fx.File.Ioctl(request, argument, out _);

    private static Errno IoasAllocRaw(MockFixture fx, IommuIoasAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_IOAS_ALLOC, ref cmd);

    private static Errno ChangeProcess(MockFixture fx, IommuIoasChangeProcess cmd) => fx.Raw(IommufdIoctl.IOMMU_IOAS_CHANGE_PROCESS, ref cmd);

    private static Errno FaultAlloc(MockFixture fx, IommuFaultAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_FAULT_QUEUE_ALLOC, ref cmd);

    private static Errno Test(MockFixture fx, IommuTestCmd cmd) => fx.Raw(IommufdIoctl.IOMMU_TEST_CMD, ref cmd);

    private static Errno Map(MockFixture fx, IommuIoasMap cmd) => fx.Raw(IommufdIoctl.IOMMU_IOAS_MAP, ref cmd);

    private static Errno Ranges(MockFixture fx, IommuIoasIovaRanges cmd) => fx.Raw(IommufdIoctl.IOMMU_IOAS_IOVA_RANGES, ref cmd);

    private static Errno Allow(MockFixture fx, IommuIoasAllowIovas cmd) => fx.Raw(IommufdIoctl.IOMMU_IOAS_ALLOW_IOVAS, ref cmd);

    private static Errno Opt(MockFixture fx, IommuOption cmd) => fx.Raw(IommufdIoctl.IOMMU_OPTION, ref cmd);

    private static Errno Vfio(MockFixture fx, IommuVfioIoas cmd) => fx.Raw(IommufdIoctl.IOMMU_VFIO_IOAS, ref cmd);

    private static Errno Hwpt(MockFixture fx, IommuHwptAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_HWPT_ALLOC, ref cmd);

    private static Errno Inval(MockFixture fx, IommuHwptInvalidate cmd) => fx.Raw(IommufdIoctl.IOMMU_HWPT_INVALIDATE, ref cmd);

    private static Errno SetDirty(MockFixture fx, IommuHwptSetDirtyTracking cmd) => fx.Raw(IommufdIoctl.IOMMU_HWPT_SET_DIRTY_TRACKING, ref cmd);

    private static Errno GetDirty(MockFixture fx, IommuHwptGetDirtyBitmap cmd) => fx.Raw(IommufdIoctl.IOMMU_HWPT_GET_DIRTY_BITMAP, ref cmd);

    private static IommuHwInfo WithReserved(IommuHwInfo cmd)
    {
        cmd.Reserved[1] = 1;
        return cmd;
    }

    private static Errno HwInfo(MockFixture fx, IommuHwInfo cmd) => fx.Raw(IommufdIoctl.IOMMU_GET_HW_INFO, ref cmd);

    private static Errno Vi(MockFixture fx, IommuViommuAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_VIOMMU_ALLOC, ref cmd);

    private static Errno Vd(MockFixture fx, IommuVdeviceAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_VDEVICE_ALLOC, ref cmd);

    private static Errno Veq(MockFixture fx, IommuVeventqAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_VEVENTQ_ALLOC, ref cmd);

    private static Errno Hwq(MockFixture fx, IommuHwQueueAlloc cmd) => fx.Raw(IommufdIoctl.IOMMU_HW_QUEUE_ALLOC, ref cmd);
}
