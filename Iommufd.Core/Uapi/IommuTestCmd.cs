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
    [FieldOffset(0)] public uint Size;
    [FieldOffset(4)] public uint Op;

    /// <summary>The object the op works on (an IOAS, HWPT, device, selftest device or access fd).</summary>
    [FieldOffset(8)] public uint Id;
    [FieldOffset(12)] public uint Reserved;

    [FieldOffset(16)] public ulong AddReservedStart;
    [FieldOffset(24)] public ulong AddReservedLength;

    [FieldOffset(16)] public uint MockDomainOutStdevId;
    [FieldOffset(20)] public uint MockDomainOutHwptId;
    [FieldOffset(24)] public uint MockDomainOutIdevId;

    /// <summary><c>mock_domain_flags.dev_flags</c> (MOCK_FLAGS_DEVICE_*).</summary>
    [FieldOffset(28)] public uint MockDomainFlagsDevFlags;

    [FieldOffset(16)] public uint MockDomainReplacePtId;

    [FieldOffset(16)] public ulong CheckMapIova;
    [FieldOffset(24)] public ulong CheckMapLength;
    [FieldOffset(32)] public ulong CheckMapUptr;

    [FieldOffset(16)] public ulong CheckRefsLength;
    [FieldOffset(24)] public ulong CheckRefsUptr;
    [FieldOffset(32)] public uint CheckRefsRefs;

    [FieldOffset(16)] public uint CreateAccessOutAccessFd;
    [FieldOffset(20)] public uint CreateAccessFlags;

    [FieldOffset(16)] public uint DestroyAccessPagesAccessPagesId;

    /// <summary><c>access_pages.flags</c> (MOCK_FLAGS_ACCESS_*).</summary>
    [FieldOffset(16)] public uint AccessPagesFlags;
    [FieldOffset(20)] public uint AccessPagesOutAccessPagesId;
    [FieldOffset(24)] public ulong AccessPagesIova;
    [FieldOffset(32)] public ulong AccessPagesLength;
    [FieldOffset(40)] public ulong AccessPagesUptr;

    [FieldOffset(16)] public ulong AccessRwIova;
    [FieldOffset(24)] public ulong AccessRwLength;
    [FieldOffset(32)] public ulong AccessRwUptr;

    /// <summary><c>access_rw.flags</c> (MOCK_ACCESS_RW_*).</summary>
    [FieldOffset(40)] public uint AccessRwFlags;

    [FieldOffset(16)] public uint MemoryLimitLimit;

    [FieldOffset(16)] public uint AccessReplaceIoasIoasId;

    [FieldOffset(16)] public uint DirtyFlags;
    [FieldOffset(24)] public ulong DirtyIova;
    [FieldOffset(32)] public ulong DirtyLength;
    [FieldOffset(40)] public ulong DirtyPageSize;
    [FieldOffset(48)] public ulong DirtyUptr;
    [FieldOffset(56)] public ulong DirtyOutNrDirty;

    [FieldOffset(16)] public uint CheckIotlbId;
    [FieldOffset(20)] public uint CheckIotlbIotlb;

    [FieldOffset(16)] public uint TriggerIopfDevId;
    [FieldOffset(20)] public uint TriggerIopfPasid;
    [FieldOffset(24)] public uint TriggerIopfGrpid;
    [FieldOffset(28)] public uint TriggerIopfPerm;
    [FieldOffset(32)] public ulong TriggerIopfAddr;

    [FieldOffset(16)] public uint TriggerVeventDevId;

    [FieldOffset(16)] public uint CheckDevCacheId;
    [FieldOffset(20)] public uint CheckDevCacheCache;

    /// <summary><c>pasid_attach.pasid</c>, which pasid_replace, pasid_detach and pasid_check share.</summary>
    [FieldOffset(16)] public uint PasidAttachPasid;

    /// <summary><c>pasid_attach.pt_id</c> (<c>pasid_replace.pt_id</c>, <c>pasid_check.hwpt_id</c>).</summary>
    [FieldOffset(20)] public uint PasidAttachPtId;

    /// <summary>The field after the union: the end of the first version (the ioctl's min_size is 68).</summary>
    [FieldOffset(64)] public uint Last;
}
