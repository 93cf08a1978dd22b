using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Iommufd.ArmSmmuV3;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Cmdqv;
using Iommufd.Cmdqv.Hardware;
using Iommufd.Core;
using Iommufd.Core.DependencyInjection;
using Iommufd.Guest;
using Iommufd.Vmm;
using Microsoft.Extensions.DependencyInjection;

namespace Iommufd.Benchmarks;

/// <summary>
/// Guest invalidation latency and throughput: each guest thread (its own VM, on a dedicated thread) issues
/// TLBI_NH_VA + CMD_SYNC and waits for CONS to pass the sync; <see cref="InvalidationsPerInvoke"/> invalidations per
/// invocation are shared equally by the guest threads, all released at once by a barrier, so the mean per operation
/// counts every thread's invalidations (with one thread it is the latency). The SMMU, CMDQV and software VCMDQ run
/// threaded, as they would beside real vCPUs.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet owns the lifetime: [GlobalCleanup] disposes what [GlobalSetup] made")]
public class GuestInvalidationBenchmarks
{
    public const int InvalidationsPerInvoke = 128;

    private ServiceProvider _provider = null!;
    private GuestQueue[] _guests = null!;
    private WorkerThreads _threads = null!;

    [Params(InvalidationPath.Trap, InvalidationPath.HardwareVcmdq, InvalidationPath.SoftwareVcmdq)]
    public InvalidationPath Path { get; set; }

    [Params(1, 2)]
    public int GuestThreads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _provider = new ServiceCollection()
            .AddIommufd(b =>
            {
                b.AddArmSmmuV3("smmu0", o => o.ExecutionMode = ExecutionMode.Threaded);
                if (Path != InvalidationPath.Trap)
                {
                    b.AddTegra241Cmdqv("smmu0", o => o.Backend = Path == InvalidationPath.HardwareVcmdq ? VcmdqBackend.Hardware : VcmdqBackend.Software);
                }

                for (int i = 0; i < GuestThreads; i++)
                {
                    b.AddDevice($"dev{i}", "smmu0", streamId: 0x10 + (uint)i);
                }
            })
            .BuildIommufdServiceProvider();
        var host = _provider.GetRequiredService<IommufdHost>();
        _guests = new GuestQueue[GuestThreads];
        for (int i = 0; i < GuestThreads; i++)
        {
            var options = new VirtualMachineOptions { RamSize = 4L << 20, Viommu = Path == InvalidationPath.Trap ? ViommuKind.SmmuV3 : ViommuKind.SmmuV3WithCmdqv };
            options.Devices.Add(($"dev{i}", 1));
            var vm = new VirtualMachine(host, options);
            _guests[i] = Path == InvalidationPath.Trap ? GuestQueue.OnVirtualSmmu(vm) : GuestQueue.OnVcmdq(vm);
        }

        _threads = new WorkerThreads(GuestThreads, i => _guests[i].Run(InvalidationsPerInvoke / GuestThreads));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _threads.Dispose();
        foreach (var g in _guests)
        {
            g.Vm.Dispose();
        }

        _provider.Dispose();
    }

    /// <summary>TLBI + CMD_SYNC, waited for, <see cref="InvalidationsPerInvoke"/> times across the guest threads.</summary>
    [Benchmark(OperationsPerInvoke = InvalidationsPerInvoke)]
    public void InvalidateAndSync() => _threads.Run();

    /// <summary>A minimal guest command queue: entries in guest RAM, PROD/CONS through the guest's MMIO.</summary>
    private sealed class GuestQueue
    {
        private const int Log2Size = 8;
        private readonly IMmio _mmio;
        private readonly uint _prodOffset;
        private readonly uint _consOffset;
        private readonly ulong _base;
        private uint _prod;

        private GuestQueue(VirtualMachine vm, IMmio mmio, uint prodOffset, uint consOffset, ulong baseIpa)
        {
            Vm = vm;
            _mmio = mmio;
            _prodOffset = prodOffset;
            _consOffset = consOffset;
            _base = baseIpa;
        }

        public VirtualMachine Vm { get; }

        public static GuestQueue OnVirtualSmmu(VirtualMachine vm)
        {
            var smmu = vm.Smmu;
            ulong queue = vm.Ram.Allocate(16 << Log2Size, 16 << Log2Size);
            smmu.Write((uint)SmmuRegister.CMDQ_BASE, queue | Log2Size, 8);
            smmu.Write((uint)SmmuRegister.CR0, 0x8); // CMDQEN
            return new GuestQueue(vm, smmu, (uint)SmmuRegister.CMDQ_PROD, (uint)SmmuRegister.CMDQ_CONS, queue);
        }

        public static GuestQueue OnVcmdq(VirtualMachine vm)
        {
            var cmdqv = vm.Cmdqv!;
            ulong queue = vm.Ram.Allocate(16 << Log2Size, 16 << Log2Size);
            cmdqv.Write(CmdqvRegister.CONFIG, CmdqvRegister.CONFIG_CMDQV_EN);
            cmdqv.Write(CmdqvRegister.VintfBase + CmdqvRegister.VINTF_CONFIG, CmdqvRegister.VINTF_CONFIG_EN);
            cmdqv.Write(CmdqvRegister.CMDQ_ALLOC, CmdqvRegister.CMDQ_ALLOC_ALLOCATED);
            cmdqv.Write(CmdqvRegister.VintfPagesBase + CmdqvRegister.PageSize + CmdqvRegister.VCMDQ_BASE, queue | Log2Size, 8);
            cmdqv.Write(CmdqvRegister.VintfPagesBase + CmdqvRegister.VCMDQ_CONFIG, CmdqvRegister.VCMDQ_EN);
            return new GuestQueue(vm, cmdqv, CmdqvRegister.VintfPagesBase + CmdqvRegister.VCMDQ_PROD, CmdqvRegister.VintfPagesBase + CmdqvRegister.VCMDQ_CONS, queue);
        }

        public void Run(int count)
        {
            uint mask = (2u << Log2Size) - 1;
            for (int i = 0; i < count; i++)
            {
                Put(SmmuCommandBuilder.TlbiNhVa(0, 1, 0x10_0000UL + ((ulong)(i & 63) << 12), leaf: true, ttl: 0, tg: 0, num: 0, scale: 0));
                Put(SmmuCommandBuilder.CmdSync(SmmuCommand.CS_SIG_NONE));
                _mmio.Write(_prodOffset, _prod);
                var spin = default(SpinWait);
                while (((uint)_mmio.Read(_consOffset) & mask) != _prod)
                {
                    if (((uint)_mmio.Read(_consOffset) >> 24 & 0x7F) != 0)
                    {
                        throw new InvalidOperationException("the guest queue stopped on an error");
                    }

                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }

            void Put(in SmmuCommand command)
            {
                command.Write(Vm.Ram.Bytes(_base + ((_prod & ((1u << Log2Size) - 1)) * 16UL), 16));
                _prod = (_prod + 1) & mask;
            }
        }
    }
}
