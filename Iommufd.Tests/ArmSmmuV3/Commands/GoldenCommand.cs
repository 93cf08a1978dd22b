using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Tests.ArmSmmuV3.Commands;

/// <summary>
/// One hand-computed command-queue entry: how a driver builds it, the two words it must encode to (typed from the
/// field positions of Arm IHI 0070 chapter 4 and arm-smmu-v3.h, never computed by the code under test), its decoded
/// text, and the property values it must decode to.
/// </summary>
public sealed record GoldenCommand(
    string Name,
    SmmuOpcode Opcode,
    Func<SmmuCommand> Build,
    ulong Word0,
    ulong Word1,
    string Text,
    Action<SmmuCommand> CheckProperties)
{
    public SmmuCommand Command => new(Word0, Word1);

    public override string ToString() => Name;
}
