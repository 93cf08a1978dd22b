namespace Iommufd.Tests.Stress;

/// <summary>The destroy/use pairs <see cref="IoctlRaceTests{TPlugin}"/> races, one test case each.</summary>
internal static class RaceCases
{
    private static readonly string[] All =
    [
        "ioas_destroy_vs_map_unmap_copy",
        "hwpt_destroy_vs_attach_and_viommu_alloc",
        "viommu_destroy_vs_its_users",
        "vdevice_destroy_vs_unbind_and_invalidate",
        "veventq_destroy_vs_read_and_close",
        "hw_queue_destroy_vs_alloc_and_unmap",
        "fault_destroy_vs_hwpt_alloc_and_fd",
        "unbind_vs_attach_and_replace",
        "detach_vs_destroy",
        "auto_domain_release_vs_attach",
        "everything_at_once",
        "close_vs_everything",
    ];

    public static IEnumerable<string> Names => All;

    public static int Count => All.Length;

    public static int IndexOf(string name) => Array.IndexOf(All, name);
}
