namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// The command-queue error code the SMMU writes to CMDQ_CONS.ERR[30:24] when it stops on a command
/// (Arm IHI 0070 §7.1; arm-smmu-v3.h CMDQ_ERR_CERROR_*).
/// </summary>
public enum CommandError : byte
{
    /// <summary>No error. Defined for completeness; never reported.</summary>
    CERROR_NONE = 0,

    /// <summary>
    /// Illegal command: a Reserved opcode, a command this implementation does not support, an invalid field value,
    /// or a non-zero reserved field when the implementation checks for it (spec §4.1.3, §4.1.5).
    /// </summary>
    CERROR_ILL = 1,

    /// <summary>External abort while reading the command; CONS stays on it.</summary>
    CERROR_ABT = 2,

    /// <summary>
    /// A CMD_SYNC could not complete earlier ATC_INV commands (ATS invalidation timeout). CONS stays on the CMD_SYNC,
    /// which runs again once the error is acknowledged (spec §4.7.3).
    /// </summary>
    CERROR_ATC_INV_SYNC = 3,
}
