using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.Cmdqv;

/// <summary>Without a CMDQV beside the SMMU the Tegra241 types do not exist.</summary>
public class CmdqvAbsentTests
{
    [Test]
    public void Without_a_CMDQV_GET_HW_INFO_type_3_and_VIOMMU_ALLOC_TEGRA241_CMDQV_are_EOPNOTSUPP()
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0", o => o.Features = new SmmuV3Features { SidBits = 8 }).AddDevice("a", "smmu0", 0x10))
            .BuildServiceProvider();
        var host = provider.GetRequiredService<IommufdHost>();
        var process = host.CreateProcess();
        var ram = process.Map(1L << 20);
        using var file = host.Open(process);
        Assert.That(file.BindDevice(host.Platform.GetDevice("a"), out uint devId), Is.EqualTo(Errno.Success));
        Assert.That(file.IoasAlloc(out uint ioas), Is.EqualTo(Errno.Success));
        ulong iova = CmdqvGuest.RamIpa;
        Assert.That(file.IoasMap(ioas, ram.Address, ram.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable, ref iova), Is.EqualTo(Errno.Success));
        Assert.That(file.HwptAlloc(devId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent), Is.EqualTo(Errno.Success));

        var info = file.GetHwInfo(devId, IommuHwInfoFlags.InputType, IommuHwInfoType.Tegra241Cmdqv, new byte[8], out _);
        var viommu = file.ViommuAlloc(devId, parent, IommuViommuType.Tegra241Cmdqv, new byte[16], out _);

        Assert.Multiple(() =>
        {
            Assert.That(info, Is.EqualTo(Errno.EOPNOTSUPP));
            Assert.That(viommu, Is.EqualTo(Errno.EOPNOTSUPP));
        });
    }
}
