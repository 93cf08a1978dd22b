using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance.Buffers;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Diagnostics;
using Iommufd.Core.Driver;
using Iommufd.Core.Uapi;

namespace Iommufd.ArmSmmuV3.Driver;

/// <summary>
/// The SMMUv3 vIOMMU (type ARM_SMMUV3): a guest's slice of the SMMU with the stage-2 parent's VMID. It builds
/// nested domains from guest STEs and takes the guest's invalidations as raw 16-byte entries.
/// </summary>
internal sealed class SmmuV3Viommu : IViommu, IUserCacheInvalidation, IViommuNestedDomains
{
    /// <summary>
    /// The largest entry array the kernel's kcalloc can provide in one piece (KMALLOC_MAX_SIZE, 4 MiB with 4 KiB
    /// pages). A larger <c>entry_num</c> is ENOMEM before any user memory is read (arm-smmu-v3-iommufd.c
    /// arm_vsmmu_cache_invalidate()), rather than an attempt at a pooled buffer of up to 64 GiB.
    /// </summary>
    private const ulong MaxBatchBytes = 4 << 20;

    // Only diagnostics read it, so a plain add, not an interlocked one on every invalidation: exact while one thread
    // at a time invalidates through the vIOMMU, as a VMM's vSMMU does; concurrent invalidations may lose some counts.
    private long _commandsForwarded;

    internal SmmuV3Viommu(SmmuV3Host host, IViommuContext context, SmmuS2Domain parent)
    {
        Host = host;
        Context = context;
        Parent = parent;
    }

    public SmmuV3Host Host { get; }

    public IViommuContext Context { get; }

    internal SmmuS2Domain Parent { get; }

    /// <summary>The VMID every forwarded command gets: the stage-2 parent's.</summary>
    public ushort Vmid => Parent.Vmid;

    /// <summary>
    /// Guest commands issued to the host queue so far (exact with one invalidating thread at a time; a diagnostic
    /// count that concurrent invalidations through one vIOMMU may under-count).
    /// </summary>
    public long CommandsForwarded => Volatile.Read(ref _commandsForwarded);

    public Errno AllocNestedDomain(IommuHwptAllocFlags flags, UserData data, out INestedDomain domain)
    {
        domain = null!;
        if (flags != 0)
        {
            return Errno.EOPNOTSUPP;
        }

        if (Host.AllocationFails())
        {
            return Errno.ENOMEM;
        }

        var rc = data.CopyFrom((uint)IommuHwptDataType.ArmSmmuV3, 16, out IommuHwptArmSmmuV3 vste);
        if (rc != Errno.Success)
        {
            return rc;
        }

        rc = ValidateGuestSte(vste.Ste[0], vste.Ste[1], out ulong ste0, out ulong ste1, out bool ats);
        if (rc != Errno.Success)
        {
            return rc;
        }

        domain = new SmmuNestedDomain(this, ste0, ste1, ats);
        return Errno.Success;
    }

    /// <summary>
    /// The guest-STE rules of arm-smmu-v3-iommufd.c arm_smmu_validate_vste(): V = 0 means abort whatever else is set;
    /// bits outside the nesting masks, a Config other than abort/bypass/S1, and EATS = 2 are EIO.
    /// </summary>
    public static Errno ValidateGuestSte(ulong word0, ulong word1, out ulong ste0, out ulong ste1, out bool enableAts)
    {
        ste0 = ste1 = 0;
        enableAts = false;
        if ((word0 & 1) == 0)
        {
            return Errno.Success;
        }

        if ((word0 & ~StreamTableEntry.NestingAllowedWord0) != 0 || (word1 & ~StreamTableEntry.NestingAllowedWord1) != 0)
        {
            return Refusal.Because(Errno.EIO, $"the guest STE sets bits outside the nesting masks (word 0 0x{word0 & ~StreamTableEntry.NestingAllowedWord0:x}, word 1 0x{word1 & ~StreamTableEntry.NestingAllowedWord1:x})");
        }

        ulong config = (word0 >> 1) & 7;
        ulong eats = (word1 & StreamTableEntry.EatsMask) >> 28;
        if (config is not (StreamTableEntry.ConfigAbort or StreamTableEntry.ConfigBypass or StreamTableEntry.ConfigS1Translate) || eats > 1)
        {
            return Refusal.Because(Errno.EIO, $"the guest STE's Config {config} or EATS {eats} is not one a nested STE may have");
        }

        ste0 = word0;
        ste1 = word1 & ~StreamTableEntry.EatsMask;
        enableAts = config == StreamTableEntry.ConfigS1Translate && eats == 1;
        return Errno.Success;
    }

    /// <summary>
    /// IOMMU_HWPT_INVALIDATE with IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: one copy of the caller's entries into a
    /// kernel buffer, conversion in place, and chunks of at most 63 commands plus a CMD_SYNC on the host queue.
    /// <see cref="InvalidationArray.EntryNum"/> comes back as the number of entries issued and completed: on a
    /// refused entry k, the entries converted before it are issued first, so the count is exactly k. An array
    /// larger than <see cref="MaxBatchBytes"/> is ENOMEM with nothing read.
    /// </summary>
    [SkipLocalsInit] // the stack buffer is not zeroed: the copy fills every entry before anything reads it
    public Errno CacheInvalidate(ref InvalidationArray array)
    {
        uint count = array.EntryNum;
        if (array.Type != (uint)IommuHwptInvalidateDataType.ViommuArmSmmuV3)
        {
            array.EntryNum = 0;
            return Errno.EINVAL;
        }

        if (count == 0)
        {
            return Errno.Success; // the uAPI header's type probe (upstream answers EINVAL: a quirk not kept)
        }

        if ((ulong)count * (ulong)Unsafe.SizeOf<SmmuCommand>() > MaxBatchBytes)
        {
            array.EntryNum = 0;
            return Errno.ENOMEM;
        }

        // The one copy of the caller's entries: on the stack for up to one chunk (the usual guest batch, without the
        // pool's thread-local bucket lookup on rent and return), pooled beyond (steady state: no allocation).
        if (count <= HostCommandQueue.MaxBatch)
        {
            return CopyAndIssue(ref array, stackalloc SmmuCommand[(int)count]);
        }

        using var buffer = SpanOwner<SmmuCommand>.Allocate((int)count);
        return CopyAndIssue(ref array, buffer.Span);
    }

    public void Destroy() => Host.ForgetViommu(this);

    /// <summary>
    /// Copies every entry into <paramref name="commands"/> (one per entry, not initialised: the copy fills them), then
    /// converts and issues them chunk by chunk.
    /// </summary>
    private Errno CopyAndIssue(ref InvalidationArray array, scoped Span<SmmuCommand> commands)
    {
        var rc = array.CopyAll(array.Type, commands);
        array.EntryNum = 0; // from here on: the number of entries issued and completed
        if (rc != Errno.Success)
        {
            return rc;
        }

        var probed = Host.Probed;
        for (int start = 0; start < commands.Length; start += HostCommandQueue.MaxBatch)
        {
            var chunk = commands.Slice(start, Math.Min(HostCommandQueue.MaxBatch, commands.Length - start));
            var refusal = GuestCommandConverter.ConvertAll(chunk, Vmid, Context, probed, out int converted);
            rc = IssueChunk(chunk[..converted], ref array, start);
            if (rc != Errno.Success)
            {
                return rc;
            }

            if (refusal != GuestCommandConverter.Refusal.None)
            {
                ref readonly var refused = ref chunk[converted];
                return Refusal.Because(Errno.EIO, $"entry {start + converted} ({refused.Opcode}): {GuestCommandConverter.Describe(refusal, refused, Host.Probed)}");
            }
        }

        return Errno.Success;
    }

    private Errno IssueChunk(scoped ReadOnlySpan<SmmuCommand> chunk, ref InvalidationArray array, int chunkStart)
    {
        if (chunk.IsEmpty)
        {
            return Errno.Success;
        }

        // On the SMMU's main queue whatever secondary queues an implementation has, as arm-smmu-v3-iommufd.c
        // arm_vsmmu_cache_invalidate() issues every chunk to smmu->cmdq (also for a Tegra241 CMDQV vIOMMU).
        var rc = Host.MainQueue.Issue(chunk, out int failed);
        int completed = rc == Errno.Success ? chunk.Length : Math.Clamp(failed, 0, chunk.Length);
        Volatile.Write(ref _commandsForwarded, _commandsForwarded + completed);

        // Entries before a failing command ran, and a CMD_SYNC (the one that replaced it) completed them; a sync
        // that failed (ATC invalidation timeout) leaves nothing of the chunk reported as done.
        bool syncFailed = completed >= chunk.Length;
        array.EntryNum = (uint)(chunkStart + (rc == Errno.Success ? chunk.Length : syncFailed ? 0 : completed));
        return rc;
    }
}
