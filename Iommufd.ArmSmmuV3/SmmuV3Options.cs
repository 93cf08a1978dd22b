namespace Iommufd.ArmSmmuV3;

/// <summary>The SMMUv3 instances the plugin creates. Validated when the driver is first resolved.</summary>
public sealed class SmmuV3Options
{
    /// <summary>The instances to create, one emulated SMMUv3 and its host driver instance each; names are unique.</summary>
    public List<SmmuV3InstanceOptions> Instances { get; } = [];

    /// <summary>Returns the problems found in the options.</summary>
    public List<string> Validate()
    {
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in Instances)
        {
            if (string.IsNullOrWhiteSpace(i.Name) || !names.Add(i.Name))
            {
                errors.Add($"SMMUv3 instance name '{i.Name}' is empty or used twice");
            }

            errors.AddRange(i.Features.Validate().Select(e => $"{i.Name}: {e}"));
            if (i.HostQueueLog2Size < 7 || i.HostQueueLog2Size > i.Features.CmdqLog2Size)
            {
                errors.Add($"{i.Name}: HostQueueLog2Size must be 7..IDR1.CMDQS");
            }

            if (i.InvalidationAttempts < 1)
            {
                errors.Add($"{i.Name}: InvalidationAttempts must be at least 1");
            }

            if (i.SyncTimeout <= TimeSpan.Zero)
            {
                errors.Add($"{i.Name}: SyncTimeout must be positive");
            }
        }

        return errors;
    }
}
