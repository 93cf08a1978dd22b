using Iommufd.Cmdqv.Hardware;
using Iommufd.Guest;

namespace Iommufd.Tests.Samples.Guest;

/// <summary>A bare Tegra241 CMDQV as the guest's register space.</summary>
internal sealed class CmdqvMmio(Tegra241Cmdqv cmdqv) : IMmio
{
    public ulong Read(uint offset, int size = 4) => cmdqv.ReadRegister(offset, size);

    public void Write(uint offset, ulong value, int size = 4) => cmdqv.WriteRegister(offset, value, size);
}
