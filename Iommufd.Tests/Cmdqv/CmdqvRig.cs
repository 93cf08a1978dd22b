using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Diagnostics;
using Iommufd.Cmdqv.Driver;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// One emulated machine for CMDQV tests: an SMMUv3 (inline), a Tegra241 CMDQV beside it on the chosen backend, and
/// three ATS endpoints "a", "b", "c" with physical SIDs <see cref="SidA"/>, <see cref="SidB"/>, <see cref="SidC"/>.
/// A software backend is built as on a machine without CMDQV hardware.
/// </summary>
internal sealed class CmdqvRig : IDisposable
{
    public const uint SidA = 0x10;
    public const uint SidB = 0x11;
    public const uint SidC = 0x12;

    private readonly ServiceProvider _provider;

    /// <summary>Whether each <see cref="CmdqvGuest"/> reaches its VINTF page through a real, polled page (<see cref="PolledPage"/>).</summary>
    public bool PolledPages { get; init; }

    public CmdqvRig(VcmdqBackend backend, Action<CmdqvOptions>? cmdqv = null, Action<SmmuV3InstanceOptions>? smmu = null, ILoggerFactory? loggerFactory = null)
    {
        var services = new ServiceCollection();
        if (loggerFactory is not null)
        {
            services.AddSingleton(loggerFactory);
        }

        _provider = services
            .AddIommufd(b => b
                .AddArmSmmuV3("smmu0", o =>
                {
                    o.Features = new SmmuV3Features { SidBits = 8 }; // a small stream table keeps each rig cheap
                    smmu?.Invoke(o);
                })
                .AddTegra241Cmdqv("smmu0", o =>
                {
                    o.Backend = backend;
                    o.HardwarePresent = backend != VcmdqBackend.Software;
                    cmdqv?.Invoke(o);
                })
                .AddDevice("a", "smmu0", SidA, atsCapable: true)
                .AddDevice("b", "smmu0", SidB, atsCapable: true)
                .AddDevice("c", "smmu0", SidC, atsCapable: true))
            .BuildServiceProvider();
        Host = _provider.GetRequiredService<IommufdHost>();
        Smmu = (SmmuV3Host)Host.Platform.Iommus.Single();
        Implementation = (CmdqvImplementation)Smmu.Implementation!;
        Diagnostics = SmmuV3Diagnostics.For(Smmu);
        CmdqvDiagnostics = CmdqvDiagnostics.For(Smmu);
    }

    public IommufdHost Host { get; }

    public SmmuV3Host Smmu { get; }

    /// <summary>The emulated SMMU: its IOTLB, ATCs and configuration cache are what the tests observe.</summary>
    public SmmuV3 Hardware => Smmu.Hardware;

    public CmdqvImplementation Implementation { get; }

    /// <summary>What the tests observe of the SMMU: its IOTLB, ATCs, configuration cache and registers.</summary>
    public SmmuV3Diagnostics Diagnostics { get; }

    /// <summary>What the tests observe of the CMDQV: VINTF and VCMDQ registers.</summary>
    public CmdqvDiagnostics CmdqvDiagnostics { get; }

    /// <summary>The machine's fault-injection seam.</summary>
    public FailNth Faults => _provider.GetRequiredService<FailNth>();

    public Tegra241Cmdqv Cmdqv => Implementation.Cmdqv;

    public EndpointDevice Device(string name) => Host.Platform.GetDevice(name);

    /// <summary>Reads a VINTF register of the config page (base 0x1000 + 0x100 × v).</summary>
    public uint ReadVintf(int vintf, uint register) =>
        (uint)Cmdqv.ReadRegister(CmdqvRegister.VintfBase + ((uint)vintf * CmdqvRegister.VintfStride) + register);

    /// <summary>The IOTLB entries of one VMID, in a stable order.</summary>
    public List<TlbEntry> IotlbOf(ushort vmid) =>
        [.. Diagnostics.IotlbEntries().Where(e => e.Vmid == vmid).OrderBy(e => e.Asid).ThenBy(e => e.InputBase)];

    public void Dispose() => _provider.Dispose();
}
