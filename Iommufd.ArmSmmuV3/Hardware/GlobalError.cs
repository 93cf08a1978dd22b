namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>GERROR / GERRORN bits (spec §6.3.19). An error is active while the two registers differ in its bit.</summary>
[Flags]
public enum GlobalError : uint
{
    None = 0,
    CMDQ_ERR = 1 << 0,
    EVENTQ_ABT_ERR = 1 << 2,
    PRIQ_ABT_ERR = 1 << 3,
    MSI_CMDQ_ABT_ERR = 1 << 4,
    MSI_EVENTQ_ABT_ERR = 1 << 5,
    MSI_PRIQ_ABT_ERR = 1 << 6,
    MSI_GERROR_ABT_ERR = 1 << 7,
    SFM_ERR = 1 << 8,
    CMDQP_ERR = 1 << 9,
    DPT_ERR = 1 << 10,
}
