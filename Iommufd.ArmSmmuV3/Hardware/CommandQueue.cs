using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Iommufd.Core.Memory;

namespace Iommufd.ArmSmmuV3.Hardware;

/// <summary>
/// One SMMUv3-format command queue in memory: the BASE, PROD and CONS registers and the consumer that executes
/// entries in order (spec §3.5, §7.1). The SMMU's own queue and every CMDQV VCMDQ are instances.
/// </summary>
/// <remarks>
/// <para>
/// One consumer at a time: the owner serialises <c>Consume</c>, <c>CompleteHeld</c>, <c>FailHeld</c> and
/// <c>Reset</c> (the SMMU through its engine work, which runs one slice at a time; the CMDQV under its queue's
/// consume lock), so the consumer needs no lock of its own and CONS and the consumed count have one writer.
/// </para>
/// <para>
/// On a command error CONS stays on the failing entry, CONS.ERR holds the CERROR code, and nothing more is
/// consumed until the owner's error is acknowledged (the owner tracks GERROR/GERRORN and calls
/// <c>Consume</c> again). Entries are read from memory one at a time, so software may rewrite
/// entries after the error, as the specification allows.
/// </para>
/// <para>
/// The consumer stores CONS after each CMD_SYNC and where it stops (queue drained, budget spent, error, held
/// command), not after every entry: software reads CONS to learn that space was freed or that its CMD_SYNC completed
/// (arm-smmu-v3.c queue_has_space() and __arm_smmu_cmdq_poll_until_consumed()), and an issuer polling for its sync
/// would otherwise pull CONS's cache line away from the consumer once per entry. PROD and CONS each have a cache line
/// of their own, away from BASE, which every issuer reads to find its slots.
/// </para>
/// </remarks>
internal sealed class CommandQueue
{
    /// <summary>CMDQ_BASE.ADDR [51:5].</summary>
    public const ulong BaseAddressMask = 0x000F_FFFF_FFFF_FFE0;

    /// <summary>
    /// An executor's answer that stops the queue on the command without an error: CONS stays on it, CONS.ERR stays
    /// clear and nothing is reported, as if the command were still executing. The owner resumes the queue with
    /// <see cref="CompleteHeld"/> (the command was run elsewhere) or <see cref="FailHeld"/>.
    /// </summary>
    public const CommandError Hold = (CommandError)0xFF;

    private const int EntrySize = 16;
    private const int EntriesPerLine = CacheLine.Size / EntrySize;
    private const int PollLooks = 1024; // a waiter's looks at CONS before it parks: about 100 µs
    private const int ErrShift = 24;
    private const uint ErrMask = 0x7Fu << ErrShift;

    private readonly PhysicalMemory _memory;
    private readonly int _maxLog2Size;
    private readonly object _progress = new(); // an object, not a Lock: Monitor.Wait/PulseAll for waiters on CONS that stopped spinning; guards no field (CONS is read with Volatile)
    private ulong _base;
    private PaddedPosition _prod; // written by software, read by the consumer (its Count unused)
    private PaddedPosition _cons; // CONS and the consumed count, written by the consumer, read by waiters
    private int _parked; // waiters that stopped spinning and wait on _progress: only then does progress pulse it

    public CommandQueue(PhysicalMemory memory, int maxLog2Size, string name)
    {
        _memory = memory;
        _maxLog2Size = maxLog2Size;
        Name = name;
    }

    public string Name { get; }

    /// <summary>The BASE register as written (LOG2SIZE reads back as written even when capped).</summary>
    public ulong Base
    {
        get => Volatile.Read(ref _base);
        set => Volatile.Write(ref _base, value);
    }

    /// <summary>PROD: index and wrap bit, written by software.</summary>
    public uint Prod
    {
        get => Volatile.Read(ref _prod.Value);
        set => Volatile.Write(ref _prod.Value, value & IndexWrapMask);
    }

    /// <summary>CONS: index, wrap bit and ERR [30:24], written by the consumer.</summary>
    public uint Cons
    {
        get => Volatile.Read(ref _cons.Value);
        set => Volatile.Write(ref _cons.Value, value & (IndexWrapMask | ErrMask));
    }

    /// <summary>The CERROR code in CONS.ERR.</summary>
    public CommandError Error => (CommandError)((Cons & ErrMask) >> ErrShift);

    /// <summary>log2 of the number of entries in use: LOG2SIZE capped at the implementation's maximum.</summary>
    public int Log2Size => Math.Min((int)(Base & 0x1F), _maxLog2Size);

    public ulong Address => Base & BaseAddressMask;

    public uint IndexWrapMask => (2u << Log2Size) - 1;

    public bool IsEmpty => ((Prod ^ Cons) & IndexWrapMask) == 0;

    /// <summary>True when every slot holds an unconsumed entry: the indexes are equal and the wrap bits differ.</summary>
    public bool IsFull => ((Prod ^ Cons) & IndexWrapMask) == 1u << Log2Size;

    /// <summary>True while an ATC_INV that a device did not complete waits for the next CMD_SYNC.</summary>
    public bool AtcInvalidationTimedOut { get; set; }

    /// <summary>
    /// Set by the executor for a command since the last CMD_SYNC that a transaction in flight may still be using the
    /// old effect of, so the next CMD_SYNC waits for those transactions; cleared by the CMD_SYNC that did. Written by
    /// the queue's one consumer only.
    /// </summary>
    internal bool SyncMustWait { get; set; }

    /// <summary>Entries consumed so far (for statistics).</summary>
    public long Consumed => Volatile.Read(ref _cons.Count);

    /// <summary>Free entries as software sees them (PROD against the current CONS).</summary>
    public uint FreeEntries(uint prod)
    {
        uint size = 1u << Log2Size;
        uint used = (prod - Cons) & IndexWrapMask;
        return size - used;
    }

    /// <summary>Advances an index+wrap value by <paramref name="count"/> entries.</summary>
    public uint Advance(uint value, uint count) => (value + count) & IndexWrapMask;

    /// <summary>Physical address of the entry at index+wrap <paramref name="position"/>.</summary>
    public ulong EntryAddress(uint position) => Address + ((position & ((1u << Log2Size) - 1)) * (ulong)EntrySize);

    /// <summary>
    /// Executes entries from CONS up to PROD. Returns CERROR_NONE when the queue drained, or the error it stopped
    /// on (CONS left on the failing entry with CONS.ERR set; the caller raises the owner's GERROR).
    /// </summary>
    public CommandError Consume<TExecutor>(ref TExecutor executor)
        where TExecutor : ICommandExecutor => Consume(ref executor, int.MaxValue, out _);

    /// <summary>
    /// Executes at most <paramref name="budget"/> entries from CONS towards PROD (one engine slice);
    /// <paramref name="more"/> is true when the budget ran out with entries left.
    /// </summary>
    public CommandError Consume<TExecutor>(ref TExecutor executor, int budget, out bool more)
        where TExecutor : ICommandExecutor
    {
        var error = CommandError.CERROR_NONE;
        more = false;
        Span<byte> entry = stackalloc byte[EntrySize];
        uint start = Cons;
        uint cons = start & IndexWrapMask;
        uint published = cons;
        bool errShown = (start & ErrMask) != 0; // an acknowledged error: the first progress clears ERR at once
        long consumed = 0;
        uint requested = cons; // the entries before this one have had their cache lines requested (RequestLines)
        try
        {
            uint prod;
            while (cons != (prod = Prod & IndexWrapMask)) // masked: BASE may have shrunk the queue since PROD was written
            {
                if (prod != requested)
                {
                    // Only entries PROD moved forward over, and not when they fit in about one line, where the request
                    // costs more than the one miss it saves.
                    uint fresh = (prod - requested) & IndexWrapMask;
                    if (fresh > EntriesPerLine && fresh <= ((prod - cons) & IndexWrapMask))
                    {
                        RequestLines(requested, prod, budget);
                    }

                    requested = prod;
                }

                if (budget-- == 0)
                {
                    more = true;
                    break;
                }

                if (!_memory.TryRead(EntryAddress(cons), entry))
                {
                    error = CommandError.CERROR_ABT;
                    break;
                }

                var command = SmmuCommand.Read(entry);
                error = executor.Execute(command, this);
                if (error != CommandError.CERROR_NONE)
                {
                    break;
                }

                cons = Advance(cons, 1);
                consumed++;
                if (command.Opcode == SmmuOpcode.CMD_SYNC || errShown)
                {
                    Cons = cons; // a sync's completion is what an issuer waits for; ERR cleared by progress
                    published = cons;
                    errShown = false;
                }
            }
        }
        finally
        {
            // Where the consumer stops, CONS shows it, also when an executor threw (on the entry that threw). A held
            // command leaves CONS on it with ERR clear.
            if (error is not CommandError.CERROR_NONE and not Hold)
            {
                Cons = cons | ((uint)error << ErrShift);
            }
            else if (cons != published)
            {
                Cons = cons;
            }

            if (consumed != 0)
            {
                Volatile.Write(ref _cons.Count, _cons.Count + consumed); // one writer (see remarks)
            }

            if (consumed != 0 || error != CommandError.CERROR_NONE)
            {
                WakeParked();
            }
        }

        return error;
    }

    /// <summary>
    /// Asks the processor for the cache lines of the entries from <paramref name="from"/> to <paramref name="to"/>
    /// (at most <paramref name="budget"/> of them) before the first is read. With several issuers many entries were
    /// written on another core (a batch gathered by the owner that rings, or rung while this consumer runs), and the
    /// consumer's work on each entry (tens of ns) keeps the next line's load out of the processor's reach until the
    /// entry before it is done: the lines then come one transfer after another, where a prefetch of each has them come
    /// together. A hint only (x86's PREFETCHT0; nothing where .NET has no prefetch): it neither faults nor reads.
    /// </summary>
    private unsafe void RequestLines(uint from, uint to, int budget)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        uint count = Math.Min((to - from) & IndexWrapMask, (uint)Math.Max(budget, 0));
        uint size = 1u << Log2Size;
        while (count != 0)
        {
            uint run = Math.Min(count, size - (from & (size - 1))); // up to the end of the queue
            if (!_memory.TryGetSpan(EntryAddress(from), (int)(run * EntrySize), out var span) || span.Length < EntrySize)
            {
                return;
            }

            fixed (byte* p = span)
            {
                for (int offset = 0; offset < span.Length; offset += CacheLine.Size)
                {
                    Sse.Prefetch0(p + offset);
                }

                Sse.Prefetch0(p + span.Length - 1);
            }

            from = Advance(from, (uint)(span.Length / EntrySize));
            count -= (uint)(span.Length / EntrySize);
        }
    }

    /// <summary>
    /// Waits until CONS has passed <paramref name="position"/> (the entry at position − 1 was consumed) or the
    /// queue stopped on an error at or before it. Polls first, then parks. False on timeout.
    /// </summary>
    /// <remarks>
    /// A host driver polls CONS for its CMD_SYNC and never sleeps (arm-smmu-v3.c
    /// __arm_smmu_cmdq_poll_until_consumed()); here a waiter polls for about <see cref="PollLooks"/> looks, pausing
    /// between them and yielding the core as <see cref="PausingPoll"/> does, so that threads outnumbering the cores
    /// (the consumer among them, when it runs inline on another issuer) still run, and only then parks. The wait for a
    /// batch consumed behind another issuer's is a few microseconds: a waiter that parked sooner would cost the
    /// consumer a wake-up call on every slice and itself a scheduler round trip.
    /// </remarks>
    public bool WaitUntilConsumed(uint position, TimeSpan timeout, out CommandError error)
    {
        var poll = default(PausingPoll);
        long deadline = 0; // read the clock only once the first look did not find the position passed
        while (true)
        {
            uint cons = Cons;
            error = (CommandError)((cons & ErrMask) >> ErrShift);
            if (Passed(cons & IndexWrapMask, position))
            {
                error = CommandError.CERROR_NONE;
                return true;
            }

            if (error != CommandError.CERROR_NONE)
            {
                return true;
            }

            if (deadline == 0)
            {
                deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            }
            else if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            if (poll.Looks < PollLooks)
            {
                poll.Pause();
                continue;
            }

            // Announce the wait before CONS is read under the monitor (the increment is a full fence), and the
            // consumer's fence between its CONS store and its read of _parked: one of the two sees the other.
            Interlocked.Increment(ref _parked);
            lock (_progress)
            {
                if (Cons == cons)
                {
                    Monitor.Wait(_progress, 1);
                }
            }

            Interlocked.Decrement(ref _parked);
        }
    }

    /// <summary>A held command was executed by its owner: CONS moves past it.</summary>
    public void CompleteHeld()
    {
        Cons = Advance(Cons & IndexWrapMask, 1);
        Volatile.Write(ref _cons.Count, _cons.Count + 1);
        WakeParked();
    }

    /// <summary>A held command cannot be executed: the queue stops on it with <paramref name="error"/> in CONS.ERR.</summary>
    public void FailHeld(CommandError error)
    {
        Cons = (Cons & IndexWrapMask) | ((uint)error << ErrShift);
        WakeParked();
    }

    /// <summary>Resets the queue's registers (queue disabled or torn down; no consumer runs).</summary>
    public void Reset()
    {
        Base = 0;
        Prod = 0;
        Cons = 0;
        AtcInvalidationTimedOut = false;
    }

    /// <summary>Writes <paramref name="command"/> into the slot at <paramref name="position"/> (software side).</summary>
    public bool TryWriteEntry(uint position, in SmmuCommand command)
    {
        Span<byte> entry = stackalloc byte[EntrySize];
        command.Write(entry);
        return _memory.TryWrite(EntryAddress(position), entry);
    }

    /// <summary>
    /// Writes <paramref name="commands"/> into the slots from <paramref name="position"/> on (software side), one copy
    /// per run of slots up to the end of the queue. A batch is then a few wide stores, not a staged copy per entry: the
    /// slots' cache lines were last read by the consumer, often on another core, and with fewer stores queued behind
    /// the first miss the processor fetches those lines together rather than one after another.
    /// </summary>
    public bool TryWriteEntries(uint position, ReadOnlySpan<SmmuCommand> commands)
    {
        if (!BitConverter.IsLittleEndian)
        {
            foreach (ref readonly var c in commands)
            {
                if (!TryWriteEntry(position, c))
                {
                    return false;
                }

                position = Advance(position, 1);
            }

            return true;
        }

        // A command's two words in memory order are its entry, little-endian (SmmuCommand.Write).
        uint size = 1u << Log2Size;
        int first = (int)Math.Min((uint)commands.Length, size - (position & (size - 1)));
        return _memory.TryWrite(EntryAddress(position), MemoryMarshal.AsBytes(commands[..first]))
            && (first == commands.Length || _memory.TryWrite(EntryAddress(Advance(position, (uint)first)), MemoryMarshal.AsBytes(commands[first..])));
    }

    /// <summary>Reads the entry at <paramref name="position"/> (software side, e.g. to skip a failing command).</summary>
    public bool TryReadEntry(uint position, out SmmuCommand command)
    {
        Span<byte> entry = stackalloc byte[EntrySize];
        bool ok = _memory.TryRead(EntryAddress(position), entry);
        command = ok ? SmmuCommand.Read(entry) : default;
        return ok;
    }

    /// <summary>
    /// After CONS moved: wakes the waiters that parked. The fence orders the CONS store before the read of
    /// <see cref="_parked"/>, so with nobody parked progress costs no lock and no pulse.
    /// </summary>
    private void WakeParked()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _parked) != 0)
        {
            lock (_progress)
            {
                Monitor.PulseAll(_progress);
            }
        }
    }

    /// <summary>
    /// True when <paramref name="cons"/> is at or beyond <paramref name="target"/> in queue order, assuming the two
    /// are less than one lap apart (as a waiter's target always is).
    /// </summary>
    private bool Passed(uint cons, uint target)
    {
        uint size = 1u << Log2Size;
        uint distance = (target - cons) & IndexWrapMask; // entries still to consume before target
        return distance == 0 || distance > size;
    }
}
