using System.Collections.Concurrent;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.Uapi;
using Iommufd.Tests.Cmdqv;
using Iommufd.Tests.Support;

namespace Iommufd.Tests.Hostile;

/// <summary>
/// A hostile guest on a VCMDQ (hardware or software): random and garbage entries, PROD and CONS values that make no
/// sense, random writes anywhere in its mmapped VINTF page, errors acknowledged or left standing, the queue reset,
/// destroyed and allocated again while a second vCPU keeps ringing its doorbell, and the page munmapped and mmapped
/// again. After each action it waits for its queue to drain, stop on an error or be off; a queue it left in error
/// stays so.
/// </summary>
internal sealed class HostileVcmdqGuest : IHostileGuest
{
    private const int Log2Entries = 8;
    private const uint Index = 0;

    private readonly CmdqvGuest _guest;
    private readonly Random _random;
    private readonly HostileCommands _commands;
    private readonly ulong _queueIpa;
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly SmmuCommand[] _batch = new SmmuCommand[80];
    private GuestVcmdq _queue;
    private MmioMapping _window;
    private long _written, _errors, _destroys, _remaps, _registerWrites;

    public HostileVcmdqGuest(CmdqvRig rig, string device, uint vsid, ushort asid, VictimNames victim, Random random)
    {
        _random = random;
        _commands = new HostileCommands(random, victim);
        _guest = new CmdqvGuest(rig, device, vsid, asid);
        ulong length = 16UL << Log2Entries;
        _queueIpa = _guest.Ram.Allocate(length, length);
        _queue = AllocQueue();
        _window = Mmap();
    }

    public long Written => _written;

    public IReadOnlyCollection<string> Problems => _problems;

    public string Summary =>
        $"{_written} entries, {_errors} queue errors, {_registerWrites} register writes, {_destroys} destroys under the doorbell, {_remaps} re-mmaps";

    public void Step()
    {
        var r = _random;
        int action = r.Next(100);
        if (action < 60)
        {
            int n = r.Next(1, _batch.Length + 1); // sometimes more than the queue holds: it overwrites its own entries
            for (int i = 0; i < n; i++)
            {
                _batch[i] = _commands.Next();
            }

            _queue.Put(_batch.AsSpan(0, n));
            _written += n;
            _queue.Ring();
        }
        else if (action < 68)
        {
            _queue.RingAt((uint)r.Next() >> r.Next(32)); // PROD anywhere, stray high bits included
        }
        else if (action < 73)
        {
            _queue.Write(CmdqvRegister.VCMDQ_CONFIG, 0);
            _queue.Write(CmdqvRegister.VCMDQ_CONS, (uint)r.Next() >> r.Next(32));
            _queue.Write(CmdqvRegister.VCMDQ_CONFIG, r.Next(4) == 0 ? (uint)r.Next() : CmdqvRegister.VCMDQ_EN);
        }
        else if (action < 88)
        {
            WriteRandomRegister();
        }
        else if (action < 91)
        {
            DestroyUnderDoorbell();
        }
        else if (action < 93)
        {
            _window.Dispose();
            _window = Mmap();
            _remaps++;
        }
        else if (action < 96)
        {
            _guest.Device.AtsInvalidationsTimeOut = r.Next(3) == 0;
        }
        else
        {
            _queue.Write(CmdqvRegister.VCMDQ_CONFIG, 0);
            _queue.Write(CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
        }

        Settle();
    }

    public void Dispose()
    {
        _guest.Device.AtsInvalidationsTimeOut = false;
        _window.Dispose();
        _guest.Dispose();
    }

    /// <summary>
    /// Waits until the queue is empty, stopped on an error, or off; then deals with an error as it likes. A queue
    /// that is none of these after <see cref="Poll.Patience"/> has stopped with entries pending and nothing to
    /// acknowledge: a problem.
    /// </summary>
    private void Settle()
    {
        if (!Poll.Until(() => _queue.Cons == (_queue.Read(CmdqvRegister.VCMDQ_PROD) & _queue.WrapMask) || _queue.ErrorActive || (_queue.Read(CmdqvRegister.VCMDQ_CONFIG) & CmdqvRegister.VCMDQ_EN) == 0))
        {
            var v = _guest.Rig.Cmdqv.Vintfs[_guest.VintfIndex].Lvcmdqs[(int)Index];
            _problems.Enqueue(v is null
                ? "the LVCMDQ is gone"
                : $"queue stalled: CONS 0x{v.Queue.Cons:x} PROD 0x{v.Queue.Prod:x}, held {v.Held}, error active {v.ErrorActive}, broken {v.Broken}");
            return;
        }

        if (!_queue.ErrorActive)
        {
            return;
        }

        _errors++;
        switch (_random.Next(6))
        {
            case 0 or 1 or 2:
                _queue.ReplaceAtCons(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
                _queue.Acknowledge();
                break;
            case 3 or 4:
                _queue.Acknowledge(); // the same entry fails again
                break;
            default:
                break; // left in error: the guest ignores its interrupt
        }
    }

    /// <summary>Any 4- or 8-byte write in the VINTF page: mostly this queue's registers, else anywhere.</summary>
    private void WriteRandomRegister()
    {
        var r = _random;
        _registerWrites++;
        ulong value = r.Next(3) switch
        {
            0 => (ulong)r.Next(4),
            1 => (uint)r.Next(),
            _ => (ulong)r.NextInt64(),
        };
        if (r.Next(2) == 0)
        {
            _window.Write32((Index * CmdqvRegister.VcmdqStride) + ((ulong)r.Next(8) * 4), (uint)value);
        }
        else if (r.Next(2) == 0)
        {
            _window.Write64((ulong)r.Next(512) * 8, value);
        }
        else
        {
            _window.Write32((ulong)r.Next(1024) * 4, (uint)value);
        }
    }

    /// <summary>IOMMU_DESTROY of the HW queue and HW_QUEUE_ALLOC again while another vCPU writes PROD and registers.</summary>
    private void DestroyUnderDoorbell()
    {
        _destroys++;
        var queue = _queue;
        int stop = 0;
        int ringerSeed = _random.Next();
        var ringer = new Thread(() =>
        {
            var r = new Random(ringerSeed);
            try
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    queue.Write(r.Next(4) == 0 ? CmdqvRegister.VCMDQ_GERRORN : CmdqvRegister.VCMDQ_PROD, (uint)r.Next());
                    if (r.Next(8) == 0)
                    {
                        queue.Write(CmdqvRegister.VCMDQ_CONFIG, (uint)r.Next(2));
                    }
                }
            }
            catch (Exception e)
            {
                _problems.Enqueue($"doorbell vCPU: {e.GetType().Name}: {e.Message}");
            }
        })
        { IsBackground = true, Name = "hostile doorbell" };
        ringer.Start();
        Thread.Sleep(_random.Next(2));
        var rc = _guest.File.Destroy(queue.HwQueueId);
        if (rc != Errno.Success)
        {
            _problems.Enqueue($"IOMMU_DESTROY of the HW queue under the doorbell: {rc}");
        }

        try
        {
            _queue = AllocQueue();
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            ringer.Join();
        }
    }

    private GuestVcmdq AllocQueue()
    {
        var rc = _guest.File.HwQueueAlloc(_guest.ViommuId, IommuHwQueueType.Tegra241Cmdqv, Index, _queueIpa, 16UL << Log2Entries, out uint id);
        Assert.That(rc, Is.EqualTo(Errno.Success), "HW_QUEUE_ALLOC of the hostile guest's queue");
        var queue = new GuestVcmdq(_guest, Index, id, _queueIpa, Log2Entries);
        queue.Enable();
        return queue;
    }

    private MmioMapping Mmap()
    {
        var rc = _guest.File.Mmap(_guest.MmapOffset, _guest.MmapLength, MmapProtection.ReadWriteShared, out var window);
        Assert.That(rc, Is.EqualTo(Errno.Success), "mmap of the VINTF page");
        return window;
    }
}
