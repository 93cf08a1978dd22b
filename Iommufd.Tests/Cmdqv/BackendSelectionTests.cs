using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Driver;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Iommufd.Tests.Cmdqv;

/// <summary>Which VCMDQ backend the options select, and that bad choices fail when the platform is built.</summary>
public class BackendSelectionTests
{
    private static (VcmdqBackend Backend, int HostQueues) Build(Action<CmdqvOptions> configure)
    {
        using var provider = new ServiceCollection()
            .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddTegra241Cmdqv("smmu0", configure).AddDevice("d", "smmu0", 1))
            .BuildServiceProvider();
        var smmu = (SmmuV3Host)provider.GetRequiredService<IommufdHost>().Platform.Iommus.Single();
        var impl = (CmdqvImplementation)smmu.Implementation!;
        return (impl.Backend, impl.HostQueues.Count);
    }

    [Test]
    public void Auto_picks_the_hardware_when_present_and_the_software_VCMDQ_otherwise()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Build(o => o.Backend = VcmdqBackend.Auto), Is.EqualTo((VcmdqBackend.Hardware, 4)));
            Assert.That(Build(o => { o.Backend = VcmdqBackend.Auto; o.HardwarePresent = false; }), Is.EqualTo((VcmdqBackend.Software, 0)));
            Assert.That(Build(o => o.Backend = VcmdqBackend.Software), Is.EqualTo((VcmdqBackend.Software, 0)), "software on request even with hardware");
        });
    }

    [Test]
    public void Asking_for_hardware_that_is_not_there_fails_when_the_platform_is_built()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(o => { o.Backend = VcmdqBackend.Hardware; o.HardwarePresent = false; }));
        Assert.That(ex!.Message, Does.Contain("needs CMDQV hardware"));
    }

    [Test]
    public void Fewer_than_two_VINTFs_fail_validation()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Build(o => o.Features = new Iommufd.Cmdqv.Hardware.CmdqvFeatures { VintfLog2 = 0, VcmdqLog2 = 1 }));
        Assert.That(ex!.Message, Does.Contain("two VINTFs"));
    }
}
