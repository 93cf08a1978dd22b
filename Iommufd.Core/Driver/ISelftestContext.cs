using Iommufd.Core.Devices;
using Iommufd.Core.Memory;

namespace Iommufd.Core.Driver;

/// <summary>
/// What the core lends IOMMU_TEST_CMD: the file's objects as selftest.c reaches them through iommufd_get_object()
/// and friends, and the calling process's memory. Lookups answer ENOENT for an ID that is not of the kind asked for.
/// </summary>
public interface ISelftestContext
{
    /// <summary>The address space of the process that opened the file.</summary>
    UserMemory Memory { get; }

    /// <summary>The physical address under a user VA, as get_user_pages_fast() finds the page (false: not mapped).</summary>
    bool TryGetPhysicalAddress(ulong userVa, out ulong physicalAddress);

    /// <summary>IOMMU_TEST_OP_ADD_RESERVED: io_pagetable.c iopt_reserve_iova() with no owner.</summary>
    Errno ReserveIova(uint ioasId, ulong start, ulong last);

    /// <summary>The domain of a paging HWPT (selftest.c get_md_pagetable()).</summary>
    Errno GetPagingDomain(uint hwptId, out IPagingDomain domain);

    /// <summary>The domain of a nested HWPT (selftest.c get_md_pagetable_nested()).</summary>
    Errno GetNestedDomain(uint hwptId, out INestedDomain domain);

    /// <summary>The device bound as <paramref name="devId"/> (iommufd_get_device()).</summary>
    Errno GetDevice(uint devId, out EndpointDevice device);

    /// <summary>
    /// How many times the CPU page at <paramref name="userPage"/> is pinned: once per page set (what one IOAS_MAP
    /// took, shared by its copies) that a domain or a HW queue holds, as page_ref_count() / GUP_PIN_COUNTING_BIAS
    /// would count in IOMMU_TEST_OP_MD_CHECK_REFS.
    /// </summary>
    int CountPins(ulong userPage);

    /// <summary>
    /// IOMMU_TEST_OP_MOCK_DOMAIN (selftest.c iommufd_test_mock_domain()): a new device behind
    /// <paramref name="iommu"/> whose PASID capability is <paramref name="pasidBits"/> wide (0: none; selftest.c
    /// mock_dev_create() gives a MOCK_FLAGS_DEVICE_PASID device the "pasid-num-bits" property MOCK_PASID_WIDTH),
    /// handed to <paramref name="probed"/> before it is bound to the file and attached to <paramref name="ptId"/>, and
    /// a selftest object that owns it (IOMMU_DESTROY of it detaches, unbinds and removes the device). Nothing is left
    /// on failure.
    /// </summary>
    Errno CreateDevice(IIommuInstance iommu, int pasidBits, Action<EndpointDevice>? probed, uint ptId, out SelftestDeviceIds ids);

    /// <summary>
    /// IOMMU_TEST_OP_CREATE_ACCESS (selftest.c iommufd_test_create_access()): an access attached to the IOAS
    /// (ENOENT) and the fd that holds it; closing the fd destroys the access. <paramref name="needsPinPages"/> is
    /// MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES (selftest_access_ops_pin). An access that
    /// <paramref name="keepsPinsOnUnmap"/> ignores unmap notifications (no selftest.c access does; it stands for a
    /// driver that does not honour them), so that an unmap meeting its pins ends in EDEADLK.
    /// </summary>
    Errno CreateAccess(uint ioasId, bool needsPinPages, bool keepsPinsOnUnmap, out ISelftestAccess access, out int fd);

    /// <summary>The access behind an fd <see cref="CreateAccess(uint, bool, bool, out ISelftestAccess, out int)"/> returned (EBADFD for any other fd, iommufd_access_get()).</summary>
    Errno GetAccess(int fd, out ISelftestAccess access);

    /// <summary>
    /// IOMMU_TEST_OP_ACCESS_REPLACE_IOAS (selftest.c iommufd_test_access_replace_ioas()): the access (EBADFD), then
    /// the new IOAS (ENOENT).
    /// </summary>
    Errno ReplaceAccessIoas(int fd, uint ioasId);

    /// <summary>
    /// IOMMU_TEST_OP_TRIGGER_IOPF (selftest.c iommufd_test_trigger_iopf()): the device (ENOENT), then the fault goes
    /// to the fault queue of the HWPT that handles it (io-pgfault.c find_fault_handler(): the RID's without a PASID;
    /// with one, that PASID's, or the RID's nested HWPT under a user PASID table); with none it is dropped, and the op
    /// still succeeds (iommu_report_device_fault() returns nothing to the caller).
    /// </summary>
    Errno ReportPageFault(uint devId, Uapi.IommuHwptPgfault fault);

    /// <summary>IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: moves the selftest object's device to <paramref name="ptId"/>.</summary>
    Errno ReplaceDevice(uint stdevId, ref uint ptId);

    /// <summary>The device of a selftest object (selftest.c iommufd_test_get_selftest_obj(): ENOENT for any other ID).</summary>
    Errno GetSelftestDevice(uint stdevId, out EndpointDevice device);

    /// <summary>
    /// IOMMU_TEST_OP_PASID_ATTACH (selftest.c iommufd_test_pasid_attach()): the selftest object (ENOENT), then
    /// device.c iommufd_device_attach() of <paramref name="pasid"/>; the HWPT attached comes back in
    /// <paramref name="ptId"/>.
    /// </summary>
    Errno AttachPasid(uint stdevId, uint pasid, ref uint ptId);

    /// <summary>IOMMU_TEST_OP_PASID_REPLACE: the selftest object (ENOENT), then device.c iommufd_device_replace() of the PASID.</summary>
    Errno ReplacePasid(uint stdevId, uint pasid, ref uint ptId);

    /// <summary>IOMMU_TEST_OP_PASID_DETACH: the selftest object (ENOENT), then device.c iommufd_device_detach() of the PASID.</summary>
    Errno DetachPasid(uint stdevId, uint pasid);

    /// <summary>The domain of a paging or nested HWPT (selftest.c iommufd_get_hwpt(): ENOENT, EINVAL for another kind).</summary>
    Errno GetHwptDomain(uint hwptId, out IIommuDomain domain);

    /// <summary>
    /// The domain attached to <paramref name="pasid"/> (IOMMU_NO_PASID: the RID) of a selftest object's device, or null
    /// when none is: the attach handle iommu.c iommu_attach_handle_get() finds in the group's PASID array, which
    /// selftest.c iommufd_test_pasid_check_hwpt() reads. ENOENT for an ID that is no selftest object.
    /// </summary>
    Errno GetAttachedDomain(uint stdevId, uint pasid, out IIommuDomain? domain);

    /// <summary>Destroys an object an op made whose response failed (iommufd_object_abort_and_destroy()).</summary>
    void DestroyCreated(uint id);

    /// <summary>Closes an fd an op made whose response failed (the kernel puts the file and never installs the fd).</summary>
    void CloseCreated(int fd);
}

/// <summary>What MOCK_DOMAIN returns: the selftest object, the HWPT attached to and the bound device's ID.</summary>
public readonly record struct SelftestDeviceIds(uint StdevId, uint HwptId, uint IdevId, EndpointDevice Device);
