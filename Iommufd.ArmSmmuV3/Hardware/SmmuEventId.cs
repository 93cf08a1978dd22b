using System.Diagnostics.CodeAnalysis;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>SMMUv3 event record types (Arm IHI 0070 §7.3; arm-smmu-v3.h EVT_ID_*).</summary>
[SuppressMessage("Naming", "CA1707", Justification = "Event names are the specification's mnemonics.")]
public enum SmmuEventId : byte
{
    /// <summary>F_UUT, 0x01 (§7.3): an Unsupported Upstream Transaction: one with attributes or a type the SMMU does not support.</summary>
    F_UUT = 0x01,
    /// <summary>C_BAD_STREAMID, 0x02 (§7.3): the StreamID is outside the stream table or reaches an invalid level-1 descriptor (recorded when CR2.RECINVSID is set).</summary>
    C_BAD_STREAMID = 0x02,
    /// <summary>F_STE_FETCH, 0x03 (§7.3): an external abort fetching the STE; FetchAddr names the address.</summary>
    F_STE_FETCH = 0x03,
    /// <summary>C_BAD_STE, 0x04 (§7.3): the STE is invalid (V = 0) or has an illegal configuration.</summary>
    C_BAD_STE = 0x04,
    /// <summary>F_BAD_ATS_TREQ, 0x05 (§7.3): a malformed ATS translation request, or one the stream's STE.EATS does not allow.</summary>
    F_BAD_ATS_TREQ = 0x05,
    /// <summary>F_STREAM_DISABLED, 0x06 (§7.3): a transaction with no SubstreamID to a stream whose STE.S1DSS terminates it.</summary>
    F_STREAM_DISABLED = 0x06,
    /// <summary>F_TRANSL_FORBIDDEN, 0x07 (§7.3): an ATS-translated transaction the stream's STE does not allow (STE.EATS).</summary>
    F_TRANSL_FORBIDDEN = 0x07,
    /// <summary>C_BAD_SUBSTREAMID, 0x08 (§7.3): the SubstreamID is beyond STE.S1CDMax, or given where the stream has no substreams.</summary>
    C_BAD_SUBSTREAMID = 0x08,
    /// <summary>F_CD_FETCH, 0x09 (§7.3): an external abort fetching the CD or a level-1 CD descriptor; FetchAddr names the address.</summary>
    F_CD_FETCH = 0x09,
    /// <summary>C_BAD_CD, 0x0A (§7.3): the CD is invalid (V = 0) or has an illegal configuration.</summary>
    C_BAD_CD = 0x0A,
    /// <summary>F_WALK_EABT, 0x0B (§7.3): an external abort reading a translation table descriptor; FetchAddr names the descriptor.</summary>
    F_WALK_EABT = 0x0B,
    /// <summary>F_TRANSLATION, 0x10 (§7.3; arm-smmu-v3.h EVT_ID_TRANSLATION_FAULT): the walk found no valid descriptor for the address.</summary>
    F_TRANSLATION = 0x10,
    /// <summary>F_ADDR_SIZE, 0x11 (§7.3; EVT_ID_ADDR_SIZE_FAULT): an input or output address beyond the configured address size.</summary>
    F_ADDR_SIZE = 0x11,
    /// <summary>F_ACCESS, 0x12 (§7.3; EVT_ID_ACCESS_FAULT): a descriptor with its access flag clear and no hardware update of it.</summary>
    F_ACCESS = 0x12,
    /// <summary>F_PERMISSION, 0x13 (§7.3; EVT_ID_PERMISSION_FAULT): the descriptor's permissions forbid the access.</summary>
    F_PERMISSION = 0x13,
    /// <summary>F_TLB_CONFLICT, 0x20 (§7.3): more than one TLB entry matched the address.</summary>
    F_TLB_CONFLICT = 0x20,
    /// <summary>F_CFG_CONFLICT, 0x21 (§7.3): more than one configuration cache entry matched the stream or substream.</summary>
    F_CFG_CONFLICT = 0x21,
    /// <summary>E_PAGE_REQUEST, 0x24 (§7.3): a speculative page request hint from a device.</summary>
    E_PAGE_REQUEST = 0x24,
    /// <summary>F_VMS_FETCH, 0x25 (§7.3): an external abort fetching the VMS (virtual machine structure) an STE points to.</summary>
    F_VMS_FETCH = 0x25,
}
