namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>Why a table walk failed; maps onto the SMMUv3 event types of spec §7.3.</summary>
internal enum TranslationFault
{
    None,

    /// <summary>No valid descriptor, or an input address outside the table's range (F_TRANSLATION).</summary>
    Translation,

    /// <summary>An output address beyond the output size (F_ADDR_SIZE).</summary>
    AddressSize,

    /// <summary>The descriptor's access flag is clear (F_ACCESS).</summary>
    AccessFlag,

    /// <summary>The descriptor forbids the access (F_PERMISSION).</summary>
    Permission,

    /// <summary>A table could not be read from memory (F_WALK_EABT).</summary>
    WalkExternalAbort,
}
