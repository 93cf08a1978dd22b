namespace Iommufd.Core.Uapi;

/// <summary>The <c>code</c> of <see cref="IommuHwptPageResponse"/> (enum iommufd_page_response_code).</summary>
public enum IommuPageResponseCode : uint
{
    /// <summary>IOMMUFD_PAGE_RESP_SUCCESS: the fault was handled.</summary>
    Success = 0,

    /// <summary>IOMMUFD_PAGE_RESP_INVALID: the fault could not be handled.</summary>
    Invalid = 1,
}
