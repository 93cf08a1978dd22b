using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>IOMMU_HWPT_ALLOC of a nested HWPT from a guest STE on an SMMUv3 vIOMMU (arm-smmu-v3-iommufd.c
/// arm_smmu_validate_vste()).</summary>
public class GuestSteValidationTests
{
    private const ulong V = 1;

    private sealed class Rig : IDisposable
    {
        private readonly ServiceProvider _provider;

        public Rig()
        {
            _provider = new ServiceCollection()
                .AddIommufd(b => b.AddArmSmmuV3("smmu0").AddDevice("nic", "smmu0", 0x10, atsCapable: true))
                .BuildServiceProvider();
            var host = _provider.GetRequiredService<IommufdHost>();
            Device = host.Platform.GetDevice("nic");
            var process = host.CreateProcess();
            var ram = process.Map(1 << 20);
            File = host.Open(process);
            File.BindDevice(Device, out DevId).ThrowIfError("bind");
            File.IoasAlloc(out uint ioas).ThrowIfError("ioas");
            ulong iova = 0x4000_0000;
            File.IoasMap(ioas, ram.Address, ram.Length, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova).ThrowIfError("map");
            File.HwptAlloc(DevId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent).ThrowIfError("parent");
            File.ViommuAlloc(DevId, parent, IommuViommuType.ArmSmmuV3, default, out ViommuId).ThrowIfError("viommu");
        }

        public Iommufd.Core.Devices.EndpointDevice Device { get; }

        public IommufdFile File { get; }

        public uint DevId;

        public uint ViommuId;

        public Errno Alloc(ulong ste0, ulong ste1, out uint hwpt, int dataLength = 16, IommuHwptAllocFlags flags = 0)
        {
            var data = new byte[Math.Max(dataLength, 16)];
            BitConverter.TryWriteBytes(data.AsSpan(0, 8), ste0);
            BitConverter.TryWriteBytes(data.AsSpan(8, 8), ste1);
            return File.HwptAlloc(DevId, ViommuId, flags, IommuHwptDataType.ArmSmmuV3, data.AsSpan(0, dataLength), 0, out hwpt);
        }

        public void Dispose()
        {
            File.Dispose();
            _provider.Dispose();
        }
    }

    [TestCase(StreamTableEntry.ConfigAbort)]
    [TestCase(StreamTableEntry.ConfigBypass)]
    [TestCase(StreamTableEntry.ConfigS1Translate)]
    public void Abort_bypass_and_stage_1_configs_are_accepted(ulong config)
    {
        using var rig = new Rig();
        Assert.That(rig.Alloc(V | (config << 1) | 0x1000, 0, out _), Is.EqualTo(Errno.Success));
    }

    [TestCase(StreamTableEntry.ConfigS2Translate)]
    [TestCase(StreamTableEntry.ConfigNested)]
    [TestCase(1ul)]
    [TestCase(2ul)]
    public void Other_configs_are_EIO(ulong config)
    {
        using var rig = new Rig();
        Assert.That(rig.Alloc(V | (config << 1), 0, out _), Is.EqualTo(Errno.EIO));
    }

    [TestCase(1ul << 52, 0ul, TestName = "S1ContextPtr bit 52 (the host takes [51:6])")]
    [TestCase(1ul << 56, 0ul, TestName = "STE word 0 bit 56")]
    [TestCase(0ul, 1ul << 19, TestName = "MEV in word 1")]
    [TestCase(0ul, 1ul << 30, TestName = "STRW in word 1")]
    public void A_bit_outside_the_nesting_masks_is_EIO(ulong extra0, ulong extra1)
    {
        using var rig = new Rig();
        Assert.That(rig.Alloc(V | (StreamTableEntry.ConfigS1Translate << 1) | extra0, extra1, out _), Is.EqualTo(Errno.EIO));
    }

    [Test]
    public void EATS_2_is_EIO_and_EATS_0_or_1_is_accepted()
    {
        using var rig = new Rig();
        ulong s1 = V | (StreamTableEntry.ConfigS1Translate << 1);
        Assert.Multiple(() =>
        {
            Assert.That(rig.Alloc(s1, 2UL << 28, out _), Is.EqualTo(Errno.EIO));
            Assert.That(rig.Alloc(s1, 1UL << 28, out _), Is.EqualTo(Errno.Success));
            Assert.That(rig.Alloc(s1, 0, out _), Is.EqualTo(Errno.Success));
        });
    }

    [Test]
    public void V_0_is_accepted_whatever_else_is_set_and_blocks_DMA()
    {
        using var rig = new Rig();
        Assert.That(rig.Alloc(0xFFFF_FFFF_FFFF_FFFE, ulong.MaxValue, out uint hwpt), Is.EqualTo(Errno.Success));
        uint pt = hwpt;
        Assert.That(rig.File.AttachDevice(rig.DevId, ref pt), Is.EqualTo(Errno.Success), "an abort domain needs no vDEVICE");
        Assert.That(rig.Device.DmaRead(0x4000_0000, new byte[4]), Is.EqualTo(DmaStatus.Blocked));
    }

    [TestCase(15)]
    [TestCase(17)]
    public void Data_that_is_not_16_bytes_is_EINVAL(int length)
    {
        using var rig = new Rig();
        Assert.That(rig.Alloc(V, 0, out _, dataLength: length), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Any_allocation_flag_is_EOPNOTSUPP()
    {
        using var rig = new Rig();
        Assert.That(rig.Alloc(V, 0, out _, flags: IommuHwptAllocFlags.AllocPasid), Is.EqualTo(Errno.EOPNOTSUPP));
    }

    [Test]
    public void A_stage_1_nested_domain_needs_a_vDEVICE_to_attach_and_a_bypass_one_does_not()
    {
        using var rig = new Rig();
        rig.Alloc(V | (StreamTableEntry.ConfigS1Translate << 1), 0, out uint s1).ThrowIfError("s1");
        rig.Alloc(V | (StreamTableEntry.ConfigBypass << 1), 0, out uint bypass).ThrowIfError("bypass");
        uint pt = s1;
        Assert.That(rig.File.AttachDevice(rig.DevId, ref pt), Is.EqualTo(Errno.ENOENT));
        pt = bypass;
        Assert.That(rig.File.AttachDevice(rig.DevId, ref pt), Is.EqualTo(Errno.Success));
        Assert.That(rig.Device.DmaRead(0x4000_0000, new byte[4]), Is.EqualTo(DmaStatus.Ok), "bypass translates like the parent");
    }
}
