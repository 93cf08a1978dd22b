using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Diagnostics;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Tests.ArmSmmuV3.Driver;

/// <summary>
/// PASIDs through the nested stack: GET_HW_INFO's out_max_pasid_log2 (iommufd device.c iommufd_get_hw_info), a
/// guest CD table with substreams behind a vSTE whose S1CDMax, S1Fmt and S1DSS pass the nesting masks
/// (arm-smmu-v3-iommufd.c arm_smmu_validate_vste), and CFGI_CD / ATC_INV with a SubstreamID through
/// IOMMU_HWPT_INVALIDATE (arm_vsmmu_convert_user_cmd rewrites only the StreamID).
/// </summary>
public class NestedPasidTests
{
    private const ulong RamIpa = 0x4000_0000;
    private const long RamSize = 4L << 20;
    private const uint Vsid = 0x31;
    private const ulong Va = 0x7000;

    private sealed class Bench : IDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly ulong _cdTableIpa;

        public Bench(int s1CdMax = 2)
        {
            _provider = new ServiceCollection()
                .AddIommufd(b => b.AddArmSmmuV3("smmu0")
                    .AddDevice("pasid", "smmu0", streamId: 0x10, atsCapable: true, pasidBits: 8)
                    .AddDevice("plain", "smmu0", streamId: 0x11))
                .BuildServiceProvider();
            var host = _provider.GetRequiredService<IommufdHost>();
            Smmu = (SmmuV3Host)host.Platform.Iommus.Single();
            Device = host.Platform.GetDevice("pasid");
            Plain = host.Platform.GetDevice("plain");
            var process = host.CreateProcess();
            Ram = new GuestRam(process.Map(RamSize), RamIpa);
            File = host.Open(process);
            Expect(File.BindDevice(Device, out DevId));
            Expect(File.BindDevice(Plain, out PlainDevId));
            Expect(File.IoasAlloc(out uint ioas));
            ulong iova = RamIpa;
            Expect(File.IoasMap(ioas, Ram.Region.Address, (ulong)RamSize, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova));
            Expect(File.HwptAlloc(DevId, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent));
            Expect(File.ViommuAlloc(DevId, parent, IommuViommuType.ArmSmmuV3, default, out ViommuId));
            Expect(File.VdeviceAlloc(ViommuId, DevId, Vsid, out _));

            // The guest's linear CD table of 2^S1CDMax CDs; S1DSS 0b10 (CD 0 for traffic without a PASID), EATS 1.
            _cdTableIpa = Ram.Allocate(4096, 4096);
            var vste = new IommuHwptArmSmmuV3();
            vste.Ste[0] = 1 | (StreamTableEntry.ConfigS1Translate << 1) | _cdTableIpa | ((ulong)s1CdMax << 59);
            vste.Ste[1] = 2 | (1UL << 28);
            Expect(File.HwptAlloc(DevId, ViommuId, 0, IommuHwptDataType.ArmSmmuV3, MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste)), 0, out uint nested));
            uint pt = nested;
            Expect(File.AttachDevice(DevId, ref pt));
        }

        public SmmuV3Host Smmu { get; }

        public EndpointDevice Device { get; }

        public EndpointDevice Plain { get; }

        public GuestRam Ram { get; }

        public IommufdFile File { get; }

        public uint DevId, PlainDevId, ViommuId;

        /// <summary>Writes CD <paramref name="ssid"/> with a fresh guest table mapping <see cref="Va"/>; returns the page's IPA.</summary>
        public ulong MapSubstream(uint ssid, ushort asid)
        {
            var table = new AArch64PageTable(Ram, TableFormat.ForInputBits(TranslationGranule.Size4K, 48), stage2: false);
            ulong page = Ram.Allocate(4096, 4096);
            Ram.Bytes(page, 4096).Fill((byte)(0x40 + ssid));
            table.Map(Va, page, 4096, IommuProtection.Read | IommuProtection.Write);
            var cd = new ContextDescriptor(
                16UL | (1UL << 30) | (1UL << 31) | (5UL << 32) | (1UL << 41) | (1UL << 45) | (1UL << 46) | ((ulong)asid << 48), table.Root, 0, 0);
            cd.Write(Ram.Bytes(_cdTableIpa + (ssid * 64), 64));
            return page;
        }

        public byte ReadByte(uint? pasid)
        {
            var b = new byte[1];
            var status = pasid is uint p ? Device.DmaRead(p, Va, b) : Device.DmaRead(Va, b);
            return status == DmaStatus.Ok ? b[0] : (byte)0;
        }

        public Errno Invalidate(params SmmuCommand[] commands) => NestedSmmuTests.InvalidateThrough(File, ViommuId, commands);

        public void Dispose()
        {
            File.Dispose();
            _provider.Dispose();
        }

        public static void Expect(Errno rc) => Assert.That(rc, Is.EqualTo(Errno.Success));
    }

    [Test]
    public void GET_HW_INFO_reports_the_smaller_of_the_devices_PASID_width_and_SSIDSIZE_and_0_without_the_capability()
    {
        using var b = new Bench();

        var withCap = b.File.GetHwInfo(b.DevId, 0, IommuHwInfoType.Default, new byte[64], out var info);
        var without = b.File.GetHwInfo(b.PlainDevId, 0, IommuHwInfoType.Default, new byte[64], out var plainInfo);

        using (Assert.EnterMultipleScope())
        {
            Assert.That((withCap, without), Is.EqualTo((Errno.Success, Errno.Success)));
            Assert.That(info.MaxPasidLog2, Is.EqualTo(8), "min(PASID capability 8, SMMU SSIDSIZE 20)");
            Assert.That(plainInfo.MaxPasidLog2, Is.Zero, "dev->iommu->max_pasids is 0 without a PASID capability");
            Assert.That(info.Capabilities & (IommuHwCapabilities.PciPasidExec | IommuHwCapabilities.PciPasidPriv), Is.EqualTo((IommuHwCapabilities)0), "README: no Execute or Privileged PASIDs");
        }
    }

    [Test]
    public void Each_PASID_reaches_its_own_guest_CD_and_traffic_without_one_uses_CD_0()
    {
        using var b = new Bench();
        b.MapSubstream(0, asid: 10);
        b.MapSubstream(1, asid: 11);
        b.MapSubstream(2, asid: 12);
        var scratch = new byte[1];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(b.ReadByte(null), Is.EqualTo(0x40), "S1DSS 0b10");
            Assert.That(b.ReadByte(1), Is.EqualTo(0x41));
            Assert.That(b.ReadByte(2), Is.EqualTo(0x42));
            Assert.That(b.Device.DmaRead(0, Va, scratch), Is.EqualTo(DmaStatus.Blocked), "PASID 0 is F_STREAM_DISABLED under S1DSS 0b10");
            Assert.That(b.Device.DmaRead(4, Va, scratch), Is.EqualTo(DmaStatus.Blocked), "PASID 4 is beyond 2^S1CDMax: C_BAD_SUBSTREAMID");
            Assert.That(() => b.Device.DmaRead(256, Va, scratch), Throws.InstanceOf<ArgumentOutOfRangeException>(), "wider than the device's 8-bit capability");
        }
    }

    [Test]
    public void A_guest_CFGI_CD_with_a_SubstreamID_refreshes_that_PASIDs_CD_only()
    {
        using var b = new Bench();
        b.MapSubstream(1, asid: 11);
        b.MapSubstream(2, asid: 12);
        b.ReadByte(1);
        b.ReadByte(2);
        b.MapSubstream(1, asid: 21); // new CDs: new ASIDs and tables
        b.MapSubstream(2, asid: 22);

        var rc = b.Invalidate(SmmuCommandBuilder.CfgiCd(Vsid, 1, leaf: true), SmmuCommandBuilder.AtcInv(Vsid, 1, ssv: true, global: false, Va, 0));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rc, Is.EqualTo(Errno.Success), "CFGI_CD with SSID 1 and the ATS device's ATC_INV for PASID 1 are forwarded");
            Assert.That(SmmuV3Diagnostics.For(b.Smmu).CachedCds().Any(c => c.StreamId == b.Device.StreamId && c.SubstreamId == 1), Is.False, "CD 1 left the cache (the vSID was rewritten to the pSID)");
            Assert.That(SmmuV3Diagnostics.For(b.Smmu).CachedCds().Any(c => c.StreamId == b.Device.StreamId && c.SubstreamId == 2), Is.True, "CD 2 stays cached");
        }

        b.ReadByte(1);
        b.ReadByte(2);
        Assert.That(SmmuV3Diagnostics.For(b.Smmu).IotlbEntries().Select(e => e.Asid).Order(), Is.EqualTo(new[] { 11, 12, 21 }), "PASID 1 now walks with its new CD's ASID; PASID 2 still the cached one");
    }

    [Test]
    public void A_guest_ATC_INV_with_SSV_invalidates_that_PASIDs_ATC_entries_and_without_SSV_all_of_them()
    {
        using var b = new Bench();
        b.MapSubstream(1, asid: 11);
        b.MapSubstream(2, asid: 12);
        b.ReadByte(1);
        b.ReadByte(2);
        var smmu = SmmuV3Diagnostics.For(b.Smmu);
        int filled = smmu.AtcEntries(b.Device.StreamId).Length;

        var one = b.Invalidate(SmmuCommandBuilder.AtcInv(Vsid, 1, ssv: true, global: false, Va, 0));
        int afterOne = smmu.AtcEntries(b.Device.StreamId).Length;
        var all = b.Invalidate(SmmuCommandBuilder.AtcInv(Vsid, 0, ssv: false, global: false, 0, 52));
        int afterAll = smmu.AtcEntries(b.Device.StreamId).Length;

        using (Assert.EnterMultipleScope())
        {
            Assert.That((one, all), Is.EqualTo((Errno.Success, Errno.Success)));
            Assert.That((filled, afterOne, afterAll), Is.EqualTo((2, 1, 0)));
        }
    }
}
