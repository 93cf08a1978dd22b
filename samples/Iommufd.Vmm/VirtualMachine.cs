using System.Runtime.InteropServices;
using Iommufd.ArmSmmuV3.Hardware;
using Iommufd.Core;
using Iommufd.Core.Uapi;

namespace Iommufd.Vmm;

/// <summary>
/// One VM as a VMM builds it on iommufd: its own process and <c>/dev/iommu</c> file, guest RAM mapped into an IOAS
/// that is the nest parent (stage 2), a vIOMMU, a vDEVICE per passed-through device, the abort and bypass nested
/// HWPTs a vSMMU needs, and the guest-facing front ends (<see cref="Smmu"/>, and <see cref="Cmdqv"/> with a CMDQV).
/// </summary>
public sealed class VirtualMachine : IDisposable
{
    private readonly List<VmDevice> _devices = [];
    private long _traps;

    /// <summary>
    /// Builds the VM on <paramref name="host"/>: a process with guest RAM, an iommufd file, the devices bound, RAM
    /// mapped into an IOAS under a nest-parent HWPT, the vIOMMU the options ask for, a vDEVICE per device, and every
    /// device attached to the abort HWPT. Throws <see cref="IommufdException"/> when a step fails.
    /// </summary>
    public VirtualMachine(IommufdHost host, VirtualMachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Devices.Count == 0)
        {
            throw new ArgumentException("a VM needs at least one device", nameof(options));
        }

        Options = options;
        var process = host.CreateProcess();
        Ram = new GuestRam(process.Map(options.RamSize), options.RamIpa);
        File = host.Open(process);
        try
        {
            foreach (var (name, vsid) in options.Devices)
            {
                File.BindDevice(host.Platform.GetDevice(name), out uint devId).ThrowIfError($"bind {name}");
                _devices.Add(new VmDevice(host.Platform.GetDevice(name), devId, vsid));
            }

            uint first = _devices[0].DevId;
            File.IoasAlloc(out uint ioas).ThrowIfError("IOAS_ALLOC");
            IoasId = ioas;
            ulong iova = options.RamIpa;
            File.IoasMap(ioas, Ram.Region.Address, Ram.Size, IommuIoasMapFlags.FixedIova | IommuIoasMapFlags.Readable | IommuIoasMapFlags.Writeable, ref iova).ThrowIfError("IOAS_MAP guest RAM");
            File.HwptAlloc(first, ioas, IommuHwptAllocFlags.NestParent, IommuHwptDataType.None, default, 0, out uint parent).ThrowIfError("HWPT_ALLOC nest parent");
            ParentHwptId = parent;

            if (options.Viommu == ViommuKind.SmmuV3WithCmdqv)
            {
                var data = new IommuViommuTegra241Cmdqv();
                File.ViommuAlloc(first, parent, IommuViommuType.Tegra241Cmdqv, MemoryMarshal.AsBytes(new Span<IommuViommuTegra241Cmdqv>(ref data)), out uint viommu).ThrowIfError("VIOMMU_ALLOC TEGRA241_CMDQV");
                ViommuId = viommu;
                VintfMmapOffset = data.OutVintfMmapOffset;
                VintfMmapLength = data.OutVintfMmapLength;
            }
            else
            {
                File.ViommuAlloc(first, parent, IommuViommuType.ArmSmmuV3, default, out uint viommu).ThrowIfError("VIOMMU_ALLOC ARM_SMMUV3");
                ViommuId = viommu;
            }

            foreach (var d in _devices)
            {
                File.VdeviceAlloc(ViommuId, d.DevId, d.VirtualSid, out uint vdev).ThrowIfError($"VDEVICE_ALLOC vSID 0x{d.VirtualSid:x}");
                d.VdeviceId = vdev;
            }

            AbortHwptId = AllocNested(first, 1); // V = 1, Config = abort
            BypassHwptId = AllocNested(first, 1 | (StreamTableEntry.ConfigBypass << 1));
            foreach (var d in _devices)
            {
                Attach(d, AbortHwptId); // the guest's SMMU starts disabled with GBPA.ABORT
            }

            Smmu = new VirtualSmmu(this);
            if (options.Viommu == ViommuKind.SmmuV3WithCmdqv)
            {
                Cmdqv = new VirtualCmdqv(this);
            }
        }
        catch
        {
            File.Dispose();
            throw;
        }
    }

    /// <summary>The options the VM was built with.</summary>
    public VirtualMachineOptions Options { get; }

    /// <summary>The VM's own <c>/dev/iommu</c> file, which every object below lives in.</summary>
    public IommufdFile File { get; }

    /// <summary>Guest RAM, mapped into <see cref="IoasId"/> at its IPAs.</summary>
    public GuestRam Ram { get; }

    /// <summary>The passed-through devices, in the options' order.</summary>
    public IReadOnlyList<VmDevice> Devices => _devices;

    /// <summary>The IOAS holding guest RAM: stage 2, guest physical to host.</summary>
    public uint IoasId { get; }

    /// <summary>
    /// The nest-parent paging HWPT over <see cref="IoasId"/>, which the vIOMMU and every nested HWPT sit on.
    /// </summary>
    public uint ParentHwptId { get; }

    /// <summary>The vIOMMU: ARM_SMMUV3, or TEGRA241_CMDQV with a CMDQV.</summary>
    public uint ViommuId { get; }

    /// <summary>
    /// The nested HWPT for a guest STE that aborts (V = 1, Config abort): what every device starts on.
    /// </summary>
    public uint AbortHwptId { get; }

    /// <summary>The nested HWPT for a guest STE in bypass: stage 2 only.</summary>
    public uint BypassHwptId { get; }

    /// <summary>The TEGRA241_CMDQV vIOMMU's VINTF page (mmap offset and length), when there is one.</summary>
    public ulong VintfMmapOffset { get; }

    /// <summary>Length of the VINTF page to mmap; 0 without a CMDQV.</summary>
    public ulong VintfMmapLength { get; }

    /// <summary>The guest's SMMUv3.</summary>
    public VirtualSmmu Smmu { get; }

    /// <summary>The guest's CMDQV, or null.</summary>
    public VirtualCmdqv? Cmdqv { get; }

    /// <summary>The trap cost charged for every emulated guest access (from the options).</summary>
    public TrapCost TrapCost => Options.TrapCost;

    /// <summary>Trapped guest accesses charged so far, on every front end of this VM.</summary>
    public long Traps => Interlocked.Read(ref _traps);

    /// <summary>The device the guest knows as <paramref name="vsid"/>.</summary>
    public VmDevice? FindByVirtualSid(uint vsid) => _devices.Find(d => d.VirtualSid == vsid);

    /// <summary>
    /// Tears the front ends down and closes the iommufd file, which destroys every object the VM made.
    /// </summary>
    public void Dispose()
    {
        Cmdqv?.Dispose();
        Smmu.Dispose();
        File.Dispose();
    }

    /// <summary>
    /// One trapped guest access: counted, and its exit cost spent on the calling (vCPU) thread before the front end
    /// emulates it. Called once per access, whatever the access sets off (a PROD write that forwards 100 commands
    /// is still one exit).
    /// </summary>
    internal void ChargeTrap()
    {
        Interlocked.Increment(ref _traps);
        Options.TrapCost.Spend();
    }

    internal Errno Attach(VmDevice device, uint hwptId)
    {
        uint pt = hwptId;
        var rc = device.AttachedHwpt == 0 ? File.AttachDevice(device.DevId, ref pt) : File.ReplaceDevice(device.DevId, ref pt);
        if (rc == Errno.Success)
        {
            device.AttachedHwpt = hwptId;
        }

        return rc;
    }

    private uint AllocNested(uint devId, ulong ste0)
    {
        var vste = new IommuHwptArmSmmuV3();
        vste.Ste[0] = ste0;
        File.HwptAlloc(devId, ViommuId, 0, IommuHwptDataType.ArmSmmuV3, MemoryMarshal.AsBytes(new Span<IommuHwptArmSmmuV3>(ref vste)), 0, out uint hwpt).ThrowIfError("HWPT_ALLOC nested");
        return hwpt;
    }

}
