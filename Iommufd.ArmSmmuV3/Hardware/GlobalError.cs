namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>GERROR / GERRORN bits (spec §6.3.19). An error is active while the two registers differ in its bit.</summary>
[Flags]
public enum GlobalError : uint
{
    /// <summary>No global error active.</summary>
    None = 0,
    /// <summary>CMDQ_ERR [0] (arm-smmu-v3.h GERROR_CMDQ_ERR): the command queue stopped at a command error; CMDQ_CONS.ERR says which.</summary>
    CMDQ_ERR = 1 << 0,
    /// <summary>EVENTQ_ABT_ERR [2] (GERROR_EVTQ_ABT_ERR): an external abort writing the event queue.</summary>
    EVENTQ_ABT_ERR = 1 << 2,
    /// <summary>PRIQ_ABT_ERR [3] (GERROR_PRIQ_ABT_ERR): an external abort writing the PRI queue.</summary>
    PRIQ_ABT_ERR = 1 << 3,
    /// <summary>MSI_CMDQ_ABT_ERR [4] (GERROR_MSI_CMDQ_ABT_ERR): an abort writing the MSI of a CMD_SYNC.</summary>
    MSI_CMDQ_ABT_ERR = 1 << 4,
    /// <summary>MSI_EVENTQ_ABT_ERR [5] (GERROR_MSI_EVTQ_ABT_ERR): an abort writing the event queue MSI.</summary>
    MSI_EVENTQ_ABT_ERR = 1 << 5,
    /// <summary>MSI_PRIQ_ABT_ERR [6] (GERROR_MSI_PRIQ_ABT_ERR): an abort writing the PRI queue MSI.</summary>
    MSI_PRIQ_ABT_ERR = 1 << 6,
    /// <summary>MSI_GERROR_ABT_ERR [7] (GERROR_MSI_GERROR_ABT_ERR): an abort writing the global error MSI.</summary>
    MSI_GERROR_ABT_ERR = 1 << 7,
    /// <summary>SFM_ERR [8] (GERROR_SFM_ERR): the SMMU entered Service Failure Mode and terminates all transactions.</summary>
    SFM_ERR = 1 << 8,
    /// <summary>CMDQP_ERR [9]: an error of an Enhanced Command queue control page (SMMUv3.3 ECMDQ); the kernel has no macro for it.</summary>
    CMDQP_ERR = 1 << 9,
    /// <summary>DPT_ERR [10]: an error of a Device Permission Table lookup (SMMUv3.5 DPT); the kernel has no macro for it.</summary>
    DPT_ERR = 1 << 10,
}
