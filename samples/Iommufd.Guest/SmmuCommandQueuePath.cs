using System.Diagnostics;
using Iommufd.ArmSmmuV3.Hardware;

namespace Iommufd.Guest;

/// <summary>
/// A guest driver's side of one SMMUv3-format command queue in guest memory: entries are written at the driver's
/// PROD, PROD is rung, and the driver polls CONS until it has passed the CMD_SYNC that closes the batch
/// (Arm IHI 0070 §3.5, §4.7.3; arm-smmu-v3.c arm_smmu_cmdq_issue_cmdlist()). Used for the SMMU's own queue and, with
/// other register offsets, for a VCMDQ.
/// </summary>
/// <remarks>
/// <para>
/// Batches hold up to (queue size − 1) commands plus one CMD_SYNC, so a whole batch always fits in an empty queue;
/// a larger submission is issued as several batches, each waited for before the next is written.
/// </para>
/// <para>
/// Errors are handled the way a host driver's GERROR handler does (arm-smmu-v3.c arm_smmu_gerror_handler()): with
/// GERROR.CMDQ_ERR active the driver reads CONS.ERR; CERROR_ILL (or an unknown code) has the failing entry overwritten
/// with a CMD_SYNC — there is no NOP command — so the queue moves on; CERROR_ABT is retried as it is;
/// CERROR_ATC_INV_SYNC leaves the CMD_SYNC in place to run again (spec §4.7.3). Every case is recorded, then GERRORN =
/// GERROR acknowledges all active errors and the queue fetches again from CONS (spec §7.1).
/// </para>
/// <para>
/// Not modelled: Linux's lock-free multi-producer insertion (one lock serializes submitters here), MSI-based
/// completion polling (this driver always polls CONS), and WFE/SEV waiting.
/// </para>
/// </remarks>
public sealed class SmmuCommandQueuePath : ICommandPath
{
    private const int EntrySize = 16;
    private const int ConsErrShift = 24;
    private const uint ConsErrMask = 0x7Fu << ConsErrShift;
    private const uint CmdqErr = 1u << 0; // GERROR.CMDQ_ERR, bit 0 on the SMMU and on a VCMDQ alike

    private readonly IMmio _mmio;
    private readonly IGuestMemory _memory;
    private readonly CommandQueueRegisters _registers;
    private readonly SmmuCommand _sync;
    private readonly TimeSpan _timeout;
    private readonly Lock _lock = new(); // one submitter at a time: guards _prod and the entries between CONS and PROD
    private uint _prod; // the driver's PROD: index and wrap bit
    private uint _cons; // the last CONS read (index and wrap bit): free space is judged from it before CONS is read again

    /// <param name="name">Name for reports.</param>
    /// <param name="mmio">The register space holding <paramref name="registers"/>.</param>
    /// <param name="memory">Guest memory holding the queue.</param>
    /// <param name="baseIpa">The queue's IPA (as programmed in its BASE register).</param>
    /// <param name="log2Entries">LOG2SIZE as programmed in its BASE register.</param>
    /// <param name="registers">PROD/CONS/GERROR/GERRORN offsets in <paramref name="mmio"/>.</param>
    /// <param name="syncCs">
    /// CS of the CMD_SYNCs the path appends. Linux uses SIG_SEV on the SMMU queue when it does not poll an MSI, and
    /// SIG_NONE on a CMDQV queue (arm-smmu-v3.c arm_smmu_cmdq_needs_busy_polling()); completion is observed through
    /// CONS either way.
    /// </param>
    /// <param name="timeout">How long a CMD_SYNC may take before the submission is reported as timed out.</param>
    public SmmuCommandQueuePath(string name, IMmio mmio, IGuestMemory memory, ulong baseIpa, int log2Entries, CommandQueueRegisters registers, byte syncCs, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(mmio);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentOutOfRangeException.ThrowIfLessThan(log2Entries, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(log2Entries, 19);
        Name = name;
        _mmio = mmio;
        _memory = memory;
        BaseIpa = baseIpa;
        Log2Entries = log2Entries;
        _registers = registers;
        _sync = SmmuCommandBuilder.CmdSync(syncCs);
        _timeout = timeout;
        _prod = (uint)mmio.Read(registers.Prod) & IndexWrapMask;
        _cons = (uint)mmio.Read(registers.Cons) & IndexWrapMask;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public CommandPathStatistics Statistics { get; } = new();

    /// <summary>The queue's IPA.</summary>
    public ulong BaseIpa { get; }

    /// <summary>log2 of the number of 16-byte entries.</summary>
    public int Log2Entries { get; }

    /// <summary>Entries in the queue.</summary>
    public int Capacity => 1 << Log2Entries;

    /// <summary>The most commands one batch carries: one slot stays for its CMD_SYNC.</summary>
    public int MaxBatchCommands => Capacity - 1;

    private uint IndexWrapMask => (2u << Log2Entries) - 1;

    /// <inheritdoc/>
    public bool Submit(ReadOnlySpan<SmmuCommand> commands) => Submit(commands, 0);

    /// <summary>
    /// <see cref="Submit(ReadOnlySpan{SmmuCommand})"/> for a slice of a larger submission: failures are recorded
    /// with <paramref name="firstIndex"/> added to their command index.
    /// </summary>
    internal bool Submit(ReadOnlySpan<SmmuCommand> commands, int firstIndex)
    {
        lock (_lock)
        {
            int done = 0;
            do
            {
                int count = Math.Min(commands.Length - done, MaxBatchCommands);
                var batch = new Batch(_prod, count, firstIndex + done);

                // Normally the queue is empty here (every batch is waited for); after a timeout it may not be.
                if (!WaitFor(Until.Free, (uint)count + 1, default))
                {
                    Statistics.AddTimeout();
                    return false;
                }

                for (int i = 0; i < count; i++)
                {
                    WriteEntry(Advance(batch.Start, (uint)i), commands[done + i]);
                }

                WriteEntry(Advance(batch.Start, (uint)count), _sync);
                _prod = Advance(batch.Start, (uint)count + 1);
                Statistics.AddBatch(count);

                // The entries are in guest memory before PROD moves (a real driver puts a dma_wmb() here; emulated
                // guest memory is coherent). The CMD_SYNC is the last entry written, so it has completed once CONS
                // has caught up with PROD (spec §4.7.3: CONS passes a CMD_SYNC only after it completed).
                _mmio.Write(_registers.Prod, _prod);
                if (!WaitFor(Until.Passed, _prod, batch))
                {
                    Statistics.AddTimeout();
                    return false;
                }

                done += count;
            }
            while (done < commands.Length);

            return true;
        }
    }

    /// <summary>
    /// Polls CONS until <paramref name="until"/> holds for <paramref name="value"/>, handling command errors on the
    /// way: spins briefly, then yields, bounded by the timeout. False on timeout.
    /// </summary>
    private bool WaitFor(Until until, uint value, in Batch batch)
    {
        long start = Stopwatch.GetTimestamp();
        var spin = default(SpinWait);
        while (true)
        {
            if (until == Until.Free ? FreeEntries(value) >= value : Passed(value))
            {
                return true;
            }

            // The bound covers error handling too: a queue that fails again and again (an entry that cannot be
            // fetched, an ATC that never answers) must not keep the caller forever.
            if (Stopwatch.GetElapsedTime(start) > _timeout)
            {
                return false;
            }

            // CONS did not move far enough: is the queue stopped on an error? If so, handle it and look again at once.
            if (TryHandleError(batch))
            {
                spin = default;
                continue;
            }

            spin.SpinOnce(sleep1Threshold: -1); // spin, then yield; never sleep a whole millisecond
        }
    }

    /// <summary>
    /// The GERROR handler's command-queue part (arm-smmu-v3.c arm_smmu_cmdq_skip_err()). True when an active CMDQ_ERR
    /// was handled and acknowledged.
    /// </summary>
    private bool TryHandleError(in Batch batch)
    {
        // GERROR first: the hardware writes CONS.ERR before GERROR shows the error (spec §7.1).
        uint gerror = (uint)_mmio.Read(_registers.Gerror);
        uint active = gerror ^ (uint)_mmio.Read(_registers.Gerrorn);
        if ((active & CmdqErr) == 0)
        {
            return false;
        }

        uint cons = (uint)_mmio.Read(_registers.Cons);
        var error = (CommandError)((cons & ConsErrMask) >> ConsErrShift);
        uint position = cons & IndexWrapMask;
        if (error != CommandError.CERROR_NONE)
        {
            var entry = ReadEntry(position);
            Statistics.AddFailure(new CommandFailure(Name, error, entry, position, batch.CommandIndexAt(position, IndexWrapMask)));
            switch (error)
            {
                case CommandError.CERROR_ABT:
                    break; // an external abort reading the entry: fetch it again
                case CommandError.CERROR_ATC_INV_SYNC:
                    break; // CONS stays on the CMD_SYNC, which runs again once acknowledged (spec §4.7.3)
                default:
                    WriteEntry(position, _sync); // CERROR_ILL or unknown: replace it with the nearest thing to a NOP
                    break;
            }
        }

        int others = System.Numerics.BitOperations.PopCount(active & ~CmdqErr);
        if (others != 0)
        {
            Statistics.AddOtherGlobalErrors(others);
        }

        // Acknowledge every active error by making GERRORN equal GERROR (spec §6.3.20); the queue resumes at CONS.
        _mmio.Write(_registers.Gerrorn, gerror);
        return true;
    }

    /// <summary>
    /// Free entries, judged from the last CONS read and reading CONS again only when that shows too few: in a VM
    /// every CONS read is an exit (Linux's driver keeps the same shadow of CONS for the same reason).
    /// </summary>
    private uint FreeEntries(uint wanted)
    {
        uint free = (uint)Capacity - ((_prod - _cons) & IndexWrapMask);
        if (free >= wanted)
        {
            return free;
        }

        _cons = (uint)_mmio.Read(_registers.Cons) & IndexWrapMask;
        return (uint)Capacity - ((_prod - _cons) & IndexWrapMask);
    }

    /// <summary>True when CONS is at or past <paramref name="target"/> (less than one lap apart, as here).</summary>
    private bool Passed(uint target)
    {
        uint cons = (uint)_mmio.Read(_registers.Cons) & IndexWrapMask;
        _cons = cons;
        uint remaining = (target - cons) & IndexWrapMask;
        return remaining == 0 || remaining > (uint)Capacity;
    }

    private uint Advance(uint position, uint count) => (position + count) & IndexWrapMask;

    private ulong EntryIpa(uint position) => BaseIpa + ((position & (uint)(Capacity - 1)) * (ulong)EntrySize);

    private void WriteEntry(uint position, in SmmuCommand command) => command.Write(_memory.Bytes(EntryIpa(position), EntrySize));

    private SmmuCommand ReadEntry(uint position) => SmmuCommand.Read(_memory.Bytes(EntryIpa(position), EntrySize));

    private enum Until
    {
        /// <summary>At least the value's number of entries are free.</summary>
        Free,

        /// <summary>CONS has passed the value (an index with wrap bit).</summary>
        Passed,
    }

    /// <summary>One batch in the queue: where it starts, how many caller commands it holds, and their first index.</summary>
    private readonly record struct Batch(uint Start, int Count, int FirstIndex)
    {
        /// <summary>The caller's index of the entry at <paramref name="position"/>, or −1 (the CMD_SYNC, or not ours).</summary>
        public int CommandIndexAt(uint position, uint indexWrapMask)
        {
            uint offset = (position - Start) & indexWrapMask;
            return offset < (uint)Count ? FirstIndex + (int)offset : -1;
        }
    }
}
