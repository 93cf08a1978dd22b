using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
namespace Iommufd.Tests.Cmdqv;
public class ZzScratch
{
    [Test]
    public void Debug()
    {
        using var rig = new CmdqvRig(VcmdqBackend.Hardware);
        using var a = new CmdqvGuest(rig, "a", CmdqvRig.SidB, 3);
        using var b = new CmdqvGuest(rig, "b", CmdqvRig.SidA, 3);
        a.MapAndTouch(0x10_0000, 4);
        b.MapAndTouch(0x10_0000, 4);
        var q = a.AllocQueue(0, 8);
        q.Submit(new SmmuCommand(0x30, 0));
        TestContext.Out.WriteLine($"cons {q.ConsRegister:x} fixups {rig.Implementation.Fixups} b {b.Iotlb.Count}");
        q.Submit(SmmuCommandBuilder.TlbiNhAll(b.Vmid));
        TestContext.Out.WriteLine($"cons {q.ConsRegister:x} fixups {rig.Implementation.Fixups} b {b.Iotlb.Count}");
    }
}
