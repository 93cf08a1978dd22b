using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>A bare SMMUv3 as the guest's register space; some writes can be swallowed to model a broken one.</summary>
internal sealed class SmmuMmio(SmmuV3 smmu) : IMmio
{
    /// <summary>While set, CMDQ_PROD writes are dropped: the SMMU never sees new commands.</summary>
    public bool DropCommandQueueDoorbell { get; set; }

    /// <summary>While set, GERRORN writes are dropped: errors are never acknowledged.</summary>
    public bool DropGerrornWrites { get; set; }

    public ulong Read(uint offset, int size = 4) => smmu.ReadRegister(offset, size);

    public void Write(uint offset, ulong value, int size = 4)
    {
        if ((DropCommandQueueDoorbell && offset == (uint)SmmuRegister.CMDQ_PROD) || (DropGerrornWrites && offset == (uint)SmmuRegister.GERRORN))
        {
            return;
        }

        smmu.WriteRegister(offset, value, size);
    }
}
