using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;

namespace Iommufd.Tests.Cmdqv;

/// <summary>
/// IOMMU_VDEVICE_ALLOC on a TEGRA241_CMDQV vIOMMU programs one SID match/replace pair of the VM's VINTF
/// (tegra241-cmdqv.c tegra241_vintf_init_vsid()): SID_REPLACE = pSID, SID_MATCH = vSID &lt;&lt; 1 | 1; ENOSPC when
/// every pair is used; destroy writes both registers with 0. Two pairs per VINTF here (SidPerVintfLog2 = 1).
/// </summary>
[TestFixture(VcmdqBackend.Hardware)]
[TestFixture(VcmdqBackend.Software)]
public class VdeviceSidPairTests(VcmdqBackend backend)
{
    private CmdqvRig _rig = null!;
    private CmdqvGuest _vm = null!;

    [SetUp]
    public void SetUp()
    {
        _rig = new CmdqvRig(backend, o => o.Features = new CmdqvFeatures { SidPerVintfLog2 = 1 });
        _vm = new CmdqvGuest(_rig, "a", vsid: 0x1234, asid: 3); // pair 0
    }

    [TearDown]
    public void TearDown()
    {
        _vm.Dispose();
        _rig.Dispose();
    }

    [Test]
    public void A_vDEVICE_programs_SID_MATCH_as_vSID_shifted_with_enable_and_SID_REPLACE_as_the_pSID()
    {
        Assert.That(_vm.File.BindDevice(_rig.Device("b"), out uint devB), Is.EqualTo(Errno.Success));

        Assert.That(_vm.File.VdeviceAlloc(_vm.ViommuId, devB, 0x7FFF_FFFF, out _), Is.EqualTo(Errno.Success));

        Assert.Multiple(() =>
        {
            Assert.That(Match(0), Is.EqualTo((0x1234u << 1) | 1));
            Assert.That(Replace(0), Is.EqualTo(CmdqvRig.SidA));
            Assert.That(Match(1), Is.EqualTo(0xFFFF_FFFFu), "the largest vSID that fits the register");
            Assert.That(Replace(1), Is.EqualTo(CmdqvRig.SidB));
        });
    }

    [Test]
    public void With_every_pair_used_a_further_vDEVICE_is_ENOSPC_and_leaves_nothing_behind()
    {
        Assert.That(_vm.File.BindDevice(_rig.Device("b"), out uint devB), Is.EqualTo(Errno.Success));
        Assert.That(_vm.File.BindDevice(_rig.Device("c"), out uint devC), Is.EqualTo(Errno.Success));
        Assert.That(_vm.File.VdeviceAlloc(_vm.ViommuId, devB, 2, out uint vdevB), Is.EqualTo(Errno.Success));

        var full = _vm.File.VdeviceAlloc(_vm.ViommuId, devC, 3, out _);
        Assert.That(_vm.File.Destroy(vdevB), Is.EqualTo(Errno.Success));
        var retry = _vm.File.VdeviceAlloc(_vm.ViommuId, devC, 3, out _);

        Assert.Multiple(() =>
        {
            Assert.That(full, Is.EqualTo(Errno.ENOSPC));
            Assert.That(retry, Is.EqualTo(Errno.Success), "the failed vDEVICE left neither the device nor vSID 3 taken");
            Assert.That(Match(1), Is.EqualTo((3u << 1) | 1));
            Assert.That(Replace(1), Is.EqualTo(CmdqvRig.SidC));
        });
    }

    [Test]
    public void Destroying_a_vDEVICE_clears_its_pair()
    {
        Assert.That(_vm.File.BindDevice(_rig.Device("b"), out uint devB), Is.EqualTo(Errno.Success));
        Assert.That(_vm.File.VdeviceAlloc(_vm.ViommuId, devB, 2, out uint vdevB), Is.EqualTo(Errno.Success));

        Assert.That(_vm.File.Destroy(vdevB), Is.EqualTo(Errno.Success));

        Assert.Multiple(() =>
        {
            Assert.That(Match(1), Is.Zero);
            Assert.That(Replace(1), Is.Zero);
            Assert.That(Match(0), Is.EqualTo((0x1234u << 1) | 1), "the other pair stays");
        });
    }

    [Test]
    public void A_vSID_above_32_bits_is_EINVAL()
    {
        Assert.That(_vm.File.BindDevice(_rig.Device("b"), out uint devB), Is.EqualTo(Errno.Success));

        Assert.That(_vm.File.VdeviceAlloc(_vm.ViommuId, devB, 1UL << 32, out _), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void A_vSID_with_bit_31_is_accepted_and_SID_MATCH_keeps_its_low_31_bits()
    {
        // tegra241_vintf_init_vsid(): EINVAL only above UINT_MAX; the 32-bit SID_MATCH write drops vSID bit 31.
        Assert.That(_vm.File.BindDevice(_rig.Device("b"), out uint devB), Is.EqualTo(Errno.Success));

        var rc = _vm.File.VdeviceAlloc(_vm.ViommuId, devB, 0x8000_0005, out _);

        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(Errno.Success));
            Assert.That(Match(1), Is.EqualTo((5u << 1) | 1));
            Assert.That(Replace(1), Is.EqualTo(CmdqvRig.SidB));
        });
    }

    [Test]
    public void Each_VINTF_has_its_own_pairs()
    {
        using var other = new CmdqvGuest(_rig, "b", vsid: 0x55, asid: 3);

        Assert.Multiple(() =>
        {
            Assert.That(other.VintfIndex, Is.Not.EqualTo(_vm.VintfIndex));
            Assert.That(_rig.ReadVintf(other.VintfIndex, CmdqvRegister.VINTF_SID_MATCH), Is.EqualTo((0x55u << 1) | 1), "pair 0 of its own VINTF");
            Assert.That(_rig.ReadVintf(other.VintfIndex, CmdqvRegister.VINTF_SID_REPLACE), Is.EqualTo(CmdqvRig.SidB));
            Assert.That(Match(0), Is.EqualTo((0x1234u << 1) | 1));
            Assert.That(Match(1), Is.Zero);
        });
    }

    private uint Match(int pair) => _rig.ReadVintf(_vm.VintfIndex, CmdqvRegister.VINTF_SID_MATCH + ((uint)pair * 4));

    private uint Replace(int pair) => _rig.ReadVintf(_vm.VintfIndex, CmdqvRegister.VINTF_SID_REPLACE + ((uint)pair * 4));
}
