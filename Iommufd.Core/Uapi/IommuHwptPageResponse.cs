using System.Runtime.InteropServices;

namespace Iommufd.Core.Uapi;

/// <summary>
/// struct iommu_hwpt_page_response, one record written to the fault fd that IOMMU_FAULT_QUEUE_ALLOC (0x8e) returns.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct IommuHwptPageResponse
{
    /// <summary>The <see cref="IommuHwptPgfault.Cookie"/> being answered.</summary>
    public uint Cookie;

    /// <summary>One of <see cref="IommuPageResponseCode"/>.</summary>
    public uint Code;
}
