using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_test_cmd, the argument of IOMMU_TEST_CMD (0xA0, iommufd_test.h): a header and a union with one
/// member per op. Each union member's fields are named after it (<c>add_reserved.start</c> →
/// <see cref="AddReservedStart"/>); fields of different members overlap, as in C.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
public struct IommuTestCmd
{
    /// <summary>
    /// <c>size</c> of struct iommu_test_cmd: the caller's sizeof, which IOMMU_TEST_CMD copies in; bytes past the fields
    /// this version knows must be 0 (E2BIG otherwise).
    /// </summary>
    [FieldOffset(0)] public uint Size;
    /// <summary>
    /// <c>op</c>: one of <see cref="IommuTestOp"/> (IOMMU_TEST_OP_*), which also picks the union member the fields
    /// below belong to.
    /// </summary>
    [FieldOffset(4)] public uint Op;

    /// <summary>The object the op works on (an IOAS, HWPT, device, selftest device or access fd).</summary>
    [FieldOffset(8)] public uint Id;
    /// <summary><c>__reserved</c>: must be 0.</summary>
    [FieldOffset(12)] public uint Reserved;

    /// <summary><c>add_reserved.start</c>: first IOVA of the range to reserve in the IOAS.</summary>
    [FieldOffset(16)] public ulong AddReservedStart;
    /// <summary><c>add_reserved.length</c>: bytes of IOVA to reserve.</summary>
    [FieldOffset(24)] public ulong AddReservedLength;

    /// <summary><c>mock_domain.out_stdev_id</c>: output, the selftest device object made.</summary>
    [FieldOffset(16)] public uint MockDomainOutStdevId;
    /// <summary><c>mock_domain.out_hwpt_id</c>: output, the HWPT the new device was attached to.</summary>
    [FieldOffset(20)] public uint MockDomainOutHwptId;
    /// <summary><c>mock_domain.out_idev_id</c>: output, the device's ID as a bound iommufd device.</summary>
    [FieldOffset(24)] public uint MockDomainOutIdevId;

    /// <summary><c>mock_domain_flags.dev_flags</c> (MOCK_FLAGS_DEVICE_*).</summary>
    [FieldOffset(28)] public uint MockDomainFlagsDevFlags;

    /// <summary><c>mock_domain_replace.pt_id</c>: the IOAS or HWPT the selftest device is moved to.</summary>
    [FieldOffset(16)] public uint MockDomainReplacePtId;

    /// <summary><c>check_map.iova</c>: first IOVA whose translation is checked.</summary>
    [FieldOffset(16)] public ulong CheckMapIova;
    /// <summary><c>check_map.length</c>: bytes of IOVA to check.</summary>
    [FieldOffset(24)] public ulong CheckMapLength;
    /// <summary><c>check_map.uptr</c>: user address the IOVA range must translate to, page by page.</summary>
    [FieldOffset(32)] public ulong CheckMapUptr;

    /// <summary><c>check_refs.length</c>: bytes of user memory whose page pin counts are checked.</summary>
    [FieldOffset(16)] public ulong CheckRefsLength;
    /// <summary><c>check_refs.uptr</c>: user address of that memory.</summary>
    [FieldOffset(24)] public ulong CheckRefsUptr;
    /// <summary><c>check_refs.refs</c>: the pin count every page must have.</summary>
    [FieldOffset(32)] public uint CheckRefsRefs;

    /// <summary><c>create_access.out_access_fd</c>: output, the fd of the new in-kernel access.</summary>
    [FieldOffset(16)] public uint CreateAccessOutAccessFd;
    /// <summary><c>create_access.flags</c>: MOCK_FLAGS_ACCESS_CREATE_* (NEEDS_PIN_PAGES).</summary>
    [FieldOffset(20)] public uint CreateAccessFlags;

    /// <summary><c>destroy_access_pages.access_pages_id</c>: the pinned range, from ACCESS_PAGES, to unpin.</summary>
    [FieldOffset(16)] public uint DestroyAccessPagesAccessPagesId;

    /// <summary><c>access_pages.flags</c> (MOCK_FLAGS_ACCESS_*).</summary>
    [FieldOffset(16)] public uint AccessPagesFlags;
    /// <summary><c>access_pages.out_access_pages_id</c>: output, the ID of the pinned range.</summary>
    [FieldOffset(20)] public uint AccessPagesOutAccessPagesId;
    /// <summary><c>access_pages.iova</c>: first IOVA to pin through the access.</summary>
    [FieldOffset(24)] public ulong AccessPagesIova;
    /// <summary><c>access_pages.length</c>: bytes of IOVA to pin.</summary>
    [FieldOffset(32)] public ulong AccessPagesLength;
    /// <summary><c>access_pages.uptr</c>: user address the pinned pages must be, checked page by page.</summary>
    [FieldOffset(40)] public ulong AccessPagesUptr;

    /// <summary><c>access_rw.iova</c>: first IOVA the access reads or writes.</summary>
    [FieldOffset(16)] public ulong AccessRwIova;
    /// <summary><c>access_rw.length</c>: bytes to copy.</summary>
    [FieldOffset(24)] public ulong AccessRwLength;
    /// <summary><c>access_rw.uptr</c>: user buffer the bytes are copied to or from.</summary>
    [FieldOffset(32)] public ulong AccessRwUptr;

    /// <summary><c>access_rw.flags</c> (MOCK_ACCESS_RW_*).</summary>
    [FieldOffset(40)] public uint AccessRwFlags;

    /// <summary>
    /// <c>memory_limit.limit</c>: the temporary limit, in bytes, on the memory one pin batch may use
    /// (SET_TEMP_MEMORY_LIMIT); at least one batch element.
    /// </summary>
    [FieldOffset(16)] public uint MemoryLimitLimit;

    /// <summary><c>access_replace_ioas.ioas_id</c>: the IOAS the access is moved to.</summary>
    [FieldOffset(16)] public uint AccessReplaceIoasIoasId;

    /// <summary><c>dirty.flags</c>: not read by the selftest driver.</summary>
    [FieldOffset(16)] public uint DirtyFlags;
    /// <summary><c>dirty.iova</c>: first IOVA of the range whose pages are marked dirty in the mock domain.</summary>
    [FieldOffset(24)] public ulong DirtyIova;
    /// <summary><c>dirty.length</c>: bytes of IOVA the bitmap covers.</summary>
    [FieldOffset(32)] public ulong DirtyLength;
    /// <summary><c>dirty.page_size</c>: bytes one bitmap bit stands for.</summary>
    [FieldOffset(40)] public ulong DirtyPageSize;
    /// <summary><c>dirty.uptr</c>: user address of the bitmap of pages to mark.</summary>
    [FieldOffset(48)] public ulong DirtyUptr;
    /// <summary><c>dirty.out_nr_dirty</c>: output, how many pages were marked.</summary>
    [FieldOffset(56)] public ulong DirtyOutNrDirty;

    /// <summary><c>check_iotlb.id</c>: index of the mock nested domain's IOTLB entry to check.</summary>
    [FieldOffset(16)] public uint CheckIotlbId;
    /// <summary><c>check_iotlb.iotlb</c>: the value the entry must hold.</summary>
    [FieldOffset(20)] public uint CheckIotlbIotlb;

    /// <summary><c>trigger_iopf.dev_id</c>: the device the page fault is reported for.</summary>
    [FieldOffset(16)] public uint TriggerIopfDevId;
    /// <summary><c>trigger_iopf.pasid</c>: the PASID of the fault.</summary>
    [FieldOffset(20)] public uint TriggerIopfPasid;
    /// <summary><c>trigger_iopf.grpid</c>: the page request group index of the fault.</summary>
    [FieldOffset(24)] public uint TriggerIopfGrpid;
    /// <summary><c>trigger_iopf.perm</c>: the access that faulted, IOMMU_PGFAULT_PERM_*.</summary>
    [FieldOffset(28)] public uint TriggerIopfPerm;
    /// <summary><c>trigger_iopf.addr</c>: the faulting address.</summary>
    [FieldOffset(32)] public ulong TriggerIopfAddr;

    /// <summary><c>trigger_vevent.dev_id</c>: the device whose vDEVICE gets a selftest vEVENT.</summary>
    [FieldOffset(16)] public uint TriggerVeventDevId;

    /// <summary><c>check_dev_cache.id</c>: index of the mock device's cache entry to check.</summary>
    [FieldOffset(16)] public uint CheckDevCacheId;
    /// <summary><c>check_dev_cache.cache</c>: the value the entry must hold.</summary>
    [FieldOffset(20)] public uint CheckDevCacheCache;

    /// <summary><c>pasid_attach.pasid</c>, which pasid_replace, pasid_detach and pasid_check share.</summary>
    [FieldOffset(16)] public uint PasidAttachPasid;

    /// <summary><c>pasid_attach.pt_id</c> (<c>pasid_replace.pt_id</c>, <c>pasid_check.hwpt_id</c>).</summary>
    [FieldOffset(20)] public uint PasidAttachPtId;

    /// <summary>The field after the union: the end of the first version (the ioctl's min_size is 68).</summary>
    [FieldOffset(64)] public uint Last;
}
