using Iommufd.Core.Memory;

namespace Iommufd.Tests.Support;

/// <summary>What the end of a VMM process does to its memory, after its files are closed.</summary>
internal static class ProcessExit
{
    /// <summary>Unmaps every region of <paramref name="process"/>, so its frames go back to the machine.</summary>
    public static void UnmapAll(UserMemory process)
    {
        foreach (var region in process.Regions.ToList())
        {
            process.Unmap(region);
        }
    }
}
