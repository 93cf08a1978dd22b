using Iommufd.Core.Uapi;

namespace Iommufd.Tests.Abi;

/// <summary>Flag, option and op enums, include/uapi/linux/iommufd.h and iommufd_test.h.</summary>
[TestFixture]
public class FlagAndOpEnumTests
{
    [Test]
    public void IommuIoasMapFlags_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuIoasMapFlags.FixedIova, Is.EqualTo(1u));
            Assert.That((uint)IommuIoasMapFlags.Writeable, Is.EqualTo(2u));
            Assert.That((uint)IommuIoasMapFlags.Readable, Is.EqualTo(4u));
        }
    }

    [Test]
    public void IommuOption_ids_and_ops_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuOptionId.RlimitMode, Is.EqualTo(0u));
            Assert.That((uint)IommuOptionId.HugePages, Is.EqualTo(1u));
            Assert.That((ushort)IommuOptionOp.Set, Is.EqualTo((ushort)0));
            Assert.That((ushort)IommuOptionOp.Get, Is.EqualTo((ushort)1));
        }
    }

    [Test]
    public void IommuVfioIoasOp_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((ushort)IommuVfioIoasOp.Get, Is.EqualTo((ushort)0));
            Assert.That((ushort)IommuVfioIoasOp.Set, Is.EqualTo((ushort)1));
            Assert.That((ushort)IommuVfioIoasOp.Clear, Is.EqualTo((ushort)2));
        }
    }

    [Test]
    public void IommuHwptAllocFlags_values_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwptAllocFlags.NestParent, Is.EqualTo(1u));
            Assert.That((uint)IommuHwptAllocFlags.DirtyTracking, Is.EqualTo(2u));
            Assert.That((uint)IommuHwptAllocFlags.FaultIdValid, Is.EqualTo(4u));
            Assert.That((uint)IommuHwptAllocFlags.AllocPasid, Is.EqualTo(8u));
        }
    }

    [Test]
    public void Hw_info_flags_and_capabilities_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwInfoFlags.InputType, Is.EqualTo(1u));
            Assert.That((ulong)IommuHwCapabilities.DirtyTracking, Is.EqualTo(1ul));
            Assert.That((ulong)IommuHwCapabilities.PciPasidExec, Is.EqualTo(2ul));
            Assert.That((ulong)IommuHwCapabilities.PciPasidPriv, Is.EqualTo(4ul));
            Assert.That((uint)IommuHwInfoVtdFlags.Errata772415Spr17, Is.EqualTo(1u));
        }
    }

    [Test]
    public void Dirty_tracking_flags_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwptSetDirtyTrackingFlags.Enable, Is.EqualTo(1u));
            Assert.That((uint)IommuHwptGetDirtyBitmapFlags.NoClear, Is.EqualTo(1u));
        }
    }

    [Test]
    public void Vtd_stage1_flags_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((ulong)IommuVtdS1Flags.Sre, Is.EqualTo(1ul));
            Assert.That((ulong)IommuVtdS1Flags.Eafe, Is.EqualTo(2ul));
            Assert.That((ulong)IommuVtdS1Flags.Wpe, Is.EqualTo(4ul));
            Assert.That((uint)IommuHwptVtdS1InvalidateFlags.Leaf, Is.EqualTo(1u));
        }
    }

    [Test]
    public void Page_fault_flags_permissions_and_response_codes_match_the_reference()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That((uint)IommuHwptPgfaultFlags.PasidValid, Is.EqualTo(1u));
            Assert.That((uint)IommuHwptPgfaultFlags.LastPage, Is.EqualTo(2u));
            Assert.That((uint)IommuHwptPgfaultPerm.Read, Is.EqualTo(1u));
            Assert.That((uint)IommuHwptPgfaultPerm.Write, Is.EqualTo(2u));
            Assert.That((uint)IommuHwptPgfaultPerm.Exec, Is.EqualTo(4u));
            Assert.That((uint)IommuHwptPgfaultPerm.Priv, Is.EqualTo(8u));
            Assert.That((uint)IommuPageResponseCode.Success, Is.EqualTo(0u));
            Assert.That((uint)IommuPageResponseCode.Invalid, Is.EqualTo(1u));
        }
    }

    [Test]
    public void Vevent_lost_events_flag_is_bit_0() =>
        Assert.That((uint)IommuVeventqFlags.LostEvents, Is.EqualTo(1u));

    [Test]
    public void Selftest_invalidate_all_flag_is_bit_0() =>
        Assert.That((uint)IommuTestInvalidateFlags.All, Is.EqualTo(1u));
}
