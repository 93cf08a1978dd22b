using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// The command path of a guest with a CMDQV: commands its VINTF accepts go to its VCMDQ, everything else to a
/// fallback (the vSMMU's own queue), in the caller's order (tegra241-cmdqv.c tegra241_cmdqv_get_cmdq(),
/// tegra241_guest_vcmdq_supports_cmd()).
/// </summary>
/// <remarks>
/// A CMD_SYNC orders only its own queue; there is no order across queues (Arm IHI 0070 §4.7.3, §3.5.6). So a submission
/// that mixes both kinds is cut into runs at every change of destination, and each run is issued with its own CMD_SYNC
/// and waited for before the next starts: every command completes before any later one begins, as on one queue.
/// Each command is checked, not only the first of a batch. A caller's CMD_SYNC just closes the current run, which is
/// synced anyway. If a run's sync times out, later runs are not issued, since their order could not be kept.
/// </remarks>
public sealed class VcmdqCommandPath : ICommandPath
{
    private long _toVcmdq;
    private long _toFallback;
    private long _runs;

    /// <param name="vcmdq">The VCMDQ's path.</param>
    /// <param name="fallback">Where commands the VINTF does not accept go.</param>
    /// <param name="guestOwned">
    /// True for a guest-owned VINTF (HYP_OWN read back 0): only TLBI_NH_ASID, TLBI_NH_VA and ATC_INV go to the VCMDQ.
    /// False for a hypervisor-owned one, which accepts every command.
    /// </param>
    public VcmdqCommandPath(ICommandPath vcmdq, ICommandPath fallback, bool guestOwned = true)
    {
        ArgumentNullException.ThrowIfNull(vcmdq);
        ArgumentNullException.ThrowIfNull(fallback);
        Vcmdq = vcmdq;
        Fallback = fallback;
        GuestOwned = guestOwned;
    }

    /// <summary>The VCMDQ's path, which gets the commands the VINTF accepts.</summary>
    public ICommandPath Vcmdq { get; }

    /// <summary>The path for the commands the VINTF does not accept (the vSMMU's own queue).</summary>
    public ICommandPath Fallback { get; }

    /// <summary>
    /// True for a guest-owned VINTF, which takes only TLBI_NH_ASID, TLBI_NH_VA and ATC_INV; false for a
    /// hypervisor-owned one, which takes every command.
    /// </summary>
    public bool GuestOwned { get; }

    /// <summary>The two paths' names joined ("vcmdq0+smmu.cmdq").</summary>
    public string Name => $"{Vcmdq.Name}+{Fallback.Name}";

    /// <summary>The VCMDQ's statistics (the fallback keeps its own: <see cref="Fallback"/>.Statistics).</summary>
    public CommandPathStatistics Statistics => Vcmdq.Statistics;

    /// <summary>Commands sent to the VCMDQ.</summary>
    public long CommandsToVcmdq => Interlocked.Read(ref _toVcmdq);

    /// <summary>Commands sent to the fallback.</summary>
    public long CommandsToFallback => Interlocked.Read(ref _toFallback);

    /// <summary>Runs issued: one per submission, plus one per change of destination inside it.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>
    /// The commands a guest-owned VINTF accepts (tegra241-cmdqv.c tegra241_guest_vcmdq_supports_cmd()); the CMD_SYNC a
    /// queue appends is never filtered.
    /// </summary>
    public static bool GuestVintfAccepts(SmmuOpcode opcode) =>
        opcode != SmmuOpcode.CMD_SYNC && Iommufd.Cmdqv.HostFixup.GuestMayIssue(opcode);

    /// <inheritdoc/>
    public bool Submit(ReadOnlySpan<SmmuCommand> commands)
    {
        if (commands.IsEmpty)
        {
            // A bare sync: wait for both queues.
            Interlocked.Increment(ref _runs);
            return Fallback.Submit([]) & Vcmdq.Submit([]);
        }

        int start = 0;
        bool runOnVcmdq = false;
        for (int i = 0; i < commands.Length; i++)
        {
            var opcode = commands[i].Opcode;
            if (opcode == SmmuOpcode.CMD_SYNC)
            {
                // Close the run before it; the sync itself is the one the run ends with.
                if (!Issue(commands, start, i, runOnVcmdq))
                {
                    return false;
                }

                start = i + 1;
                continue;
            }

            bool onVcmdq = !GuestOwned || GuestVintfAccepts(opcode);
            if (i > start && onVcmdq != runOnVcmdq)
            {
                // The destination changes: finish the run so far, with its CMD_SYNC, before the next one starts.
                if (!Issue(commands, start, i, runOnVcmdq))
                {
                    return false;
                }

                start = i;
            }

            runOnVcmdq = onVcmdq;
        }

        return Issue(commands, start, commands.Length, runOnVcmdq);
    }

    /// <summary>Issues commands [start, end) to one queue with its CMD_SYNC; an empty run issues nothing.</summary>
    private bool Issue(ReadOnlySpan<SmmuCommand> commands, int start, int end, bool onVcmdq)
    {
        if (end == start)
        {
            return true;
        }

        var path = onVcmdq ? Vcmdq : Fallback;
        Interlocked.Add(ref onVcmdq ? ref _toVcmdq : ref _toFallback, end - start);
        Interlocked.Increment(ref _runs);
        var run = commands[start..end];

        // Failures are recorded with their index in the caller's span when the queue path can take it.
        return path is SmmuCommandQueuePath queue ? queue.Submit(run, start) : path.Submit(run);
    }
}
