using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3.Driver;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Devices;
using Iommufd.Core.Driver;
using Iommufd.Core.Memory;
using Iommufd.Core.Uapi;

namespace Iommufd.Benchmarks;

/// <summary>
/// The per-command cost, split (#9 item 6): the driver's work on a batch of guest entries (one copy into a pooled
/// buffer, validate, rewrite in place: <see cref="GuestCommandConverter.ConvertAll"/>) against a same-run one-pass
/// baseline that copies, switches on the opcode and rewrites the VMID and nothing more; and the SMMU model's
/// execution of the converted commands on their own (no queue, no ioctl). The batch holds TLBIs by VA, by ASID,
/// all-of-VMID and by VA for all ASIDs, which need no vSID lookup.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes what [GlobalSetup] made")]
public class DriverPerCommandBenchmarks
{
    private const ushort Vmid = 7;

    private readonly NoDevices _context = new();
    private byte[] _guestEntries = null!;
    private SmmuCommand[] _converted = null!;
    private SmmuV3 _smmu = null!;
    private ProbedFeatures _probed;

    [Params(1, 63)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _smmu = new SmmuV3("bench", new SmmuV3Features(), new PhysicalMemory());
        _probed = ProbedFeatures.FromRegisters(_smmu);
        _guestEntries = new byte[BatchSize * 16];
        _converted = new SmmuCommand[BatchSize];
        for (int i = 0; i < BatchSize; i++)
        {
            var c = (i % 4) switch
            {
                0 => SmmuCommandBuilder.TlbiNhVa(0, 3, 0x10_0000UL + ((ulong)(i % 64) << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0),
                1 => SmmuCommandBuilder.TlbiNhAsid(0, 3),
                2 => SmmuCommandBuilder.TlbiNhAll(0),
                _ => SmmuCommandBuilder.TlbiNhVaa(0, 0x20_0000UL, leaf: true, ttl: 0, tg: 0, num: 0, scale: 0),
            };
            c.Write(_guestEntries.AsSpan(i * 16));
            _converted[i] = c.WithVmid(Vmid);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _smmu.Dispose();

    /// <summary>
    /// The floor: copy, switch on the opcode byte, force the VMID field; over the buffer's words as the driver works on
    /// its entries (one cast, no per-entry slice). It returns the entries rewritten, as <see cref="Convert"/> does:
    /// neither case reads its output again, since the stores into the pooled buffer are the work.
    /// </summary>
    [Benchmark(Baseline = true)]
    public int OnePass()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_guestEntries.Length);
        _guestEntries.CopyTo(buffer, 0);
        var words = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan(0, _guestEntries.Length));
        for (int i = 0; i < words.Length; i += 2)
        {
            ulong w0 = words[i];
            switch ((byte)w0)
            {
                case (byte)SmmuOpcode.TLBI_NH_ALL:
                case (byte)SmmuOpcode.TLBI_NH_ASID:
                case (byte)SmmuOpcode.TLBI_NH_VA:
                case (byte)SmmuOpcode.TLBI_NH_VAA:
                    w0 = (w0 & ~SmmuCommandLayout.W0_VMID) | ((ulong)Vmid << 32);
                    break;
                default:
                    return i / 2;
            }

            words[i] = w0;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return words.Length / 2;
    }

    /// <summary>What the driver does: the same copy, then the full validation and rewrite of each entry in place.</summary>
    [Benchmark]
    public int Convert()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_guestEntries.Length);
        _guestEntries.CopyTo(buffer, 0);
        var commands = MemoryMarshal.Cast<byte, SmmuCommand>(buffer.AsSpan(0, _guestEntries.Length));
        if (GuestCommandConverter.ConvertAll(commands, Vmid, _context, _probed, out int converted) != GuestCommandConverter.Refusal.None)
        {
            return converted;
        }

        ArrayPool<byte>.Shared.Return(buffer);
        return converted;
    }

    /// <summary>The SMMU model executing the converted commands (IOTLB lookups for each), without queue or ioctl.</summary>
    [Benchmark]
    public int ModelExecute()
    {
        int errors = 0;
        foreach (ref readonly var c in _converted.AsSpan())
        {
            errors += (int)_smmu.Execute(c, _smmu.CommandQueue);
        }

        return errors;
    }

    /// <summary>A vIOMMU with no vDEVICE: the batch needs none.</summary>
    private sealed class NoDevices : IViommuContext
    {
        public uint Id => 1;

        public IPagingDomain Parent => throw new NotSupportedException();

        public bool TryFindDevice(ulong virtId, out EndpointDevice device)
        {
            device = null!;
            return false;
        }

        public bool TryGetVirtId(EndpointDevice device, out ulong virtId)
        {
            virtId = 0;
            return false;
        }

        public Errno AllocMmap(IMmioRegion region, out ulong offset) => throw new NotSupportedException();

        public void FreeMmap(ulong offset) => throw new NotSupportedException();

        public Errno ReportEvent(IommuVeventqType type, ReadOnlySpan<byte> payload) => throw new NotSupportedException();
    }
}
