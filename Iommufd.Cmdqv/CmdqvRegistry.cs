namespace Iommufd.Cmdqv;

/// <summary>Every CMDQV the platform has, one per SMMU at most.</summary>
internal sealed class CmdqvRegistry
{
    public List<CmdqvOptions> Options { get; } = [];
}
