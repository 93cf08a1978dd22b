namespace Iommufd.Cmdqv;

/// <summary>Every CMDQV the platform has, one per SMMU at most.</summary>
public sealed class CmdqvRegistry
{
    public List<CmdqvOptions> Options { get; } = [];
}
