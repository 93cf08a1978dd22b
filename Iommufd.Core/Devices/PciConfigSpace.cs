using System.Buffers.Binary;

namespace Iommufd.Core.Devices;

/// <summary>
/// The 4 KiB PCI Express configuration space of a device node, as vfio-pci shows it to user space (region 7 of the
/// device fd, drivers/vfio/pci/vfio_pci_config.c): a type 0 header whose only BAR is BAR0, a PCI Express capability
/// (endpoint, version 2) at 0x40 and, for an ATS-capable device, the ATS extended capability at 0x100.
/// </summary>
/// <remarks>
/// Each byte has a mask of the bits a write may change, as the device's registers and vfio's permission tables
/// (vfio_pci_init_perm_bits) allow; writes to other bits are dropped, as hardware ignores writes to read-only bits.
/// BAR0 keeps only the address bits its 4 KiB size leaves, so writing all ones reads back the size (PCI Local Bus
/// 3.0 §6.2.5.1). The ATS capability is read-only, as vfio's ecap_perms give it no write function. No PASID
/// capability is shown: vfio-pci hides it from user space (pci_ext_cap_length[PCI_EXT_CAP_ID_PASID] is 0), and no
/// device here has PASIDs (PASID attach is EOPNOTSUPP). No MSI or MSI-X capability: the device raises no
/// interrupts, and its interrupt pin is 0.
/// </remarks>
public sealed class PciConfigSpace
{
    /// <summary>PCI_CFG_SPACE_EXP_SIZE: a PCI Express function's config space.</summary>
    public const int Size = 4096;

    /// <summary>Red Hat, Inc., the vendor ID QEMU uses for its emulated devices.</summary>
    public const ushort VendorId = 0x1b36;

    /// <summary>A PCI test device (QEMU's pci-testdev number): no operating system driver binds to it.</summary>
    public const ushort DeviceId = 0x0005;

    /// <summary>Class code 0x088000: base system peripheral, other (PCI Code and ID Assignment §1.9).</summary>
    public const uint ClassCode = 0x088000;

    /// <summary>Where the PCI Express capability is (PCI_CAPABILITY_LIST points here).</summary>
    public const int ExpressCapability = 0x40;

    /// <summary>Where the first extended capability is (PCIe Base §7.6.3): ATS on an ATS-capable device.</summary>
    public const int FirstExtendedCapability = 0x100;

    /// <summary>PCI_CAP_ID_EXP: the capability ID of the PCI Express capability.</summary>
    public const byte CapIdExpress = 0x10; // PCI_CAP_ID_EXP
    /// <summary>PCI_EXT_CAP_ID_ATS: the extended capability ID of Address Translation Services.</summary>
    public const ushort ExtCapIdAts = 0x000F; // PCI_EXT_CAP_ID_ATS

    private readonly byte[] _value = new byte[Size];
    private readonly byte[] _writable = new byte[Size];
    private readonly Lock _lock = new(); // guards _value

    /// <summary>The config space of <paramref name="device"/>, whose BAR0 is <paramref name="bar0Length"/> bytes.</summary>
    public PciConfigSpace(EndpointDevice device, ulong bar0Length)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (bar0Length < 16 || !ulong.IsPow2(bar0Length) || bar0Length > 1UL << 31)
        {
            throw new ArgumentOutOfRangeException(nameof(bar0Length), "a 32-bit memory BAR is a power of two from 16 bytes to 2 GiB");
        }

        // Type 0 header (PCI Local Bus 3.0 §6.1, PCIe Base §7.5.1).
        Set16(0x00, VendorId);
        Set16(0x02, DeviceId);
        Set16(0x04, 0, writable: 0x0546); // Command: memory space, bus master, parity error response, SERR#, INTx disable
        Set16(0x06, 0x0010); // Status: capabilities list
        Set32(0x08, (ClassCode << 8) | 0x01); // revision 1
        Set8(0x0C, 0, writable: 0xFF); // cache line size
        Set32(0x10, 0, writable: (uint)~(bar0Length - 1)); // BAR0: 32-bit, non-prefetchable memory
        Set16(0x2C, VendorId); // subsystem vendor ID
        Set16(0x2E, DeviceId); // subsystem ID
        Set8(0x34, ExpressCapability);
        Set8(0x3C, 0, writable: 0xFF); // interrupt line (the pin at 0x3D stays 0)

        // PCI Express capability, version 2, PCI Express endpoint (PCIe Base §7.5.3).
        const int e = ExpressCapability;
        Set8(e, CapIdExpress); // next pointer 0: the last capability
        Set16(e + 0x02, 0x0002); // capability version 2, device/port type 0 (endpoint)
        Set32(e + 0x04, 1u << 15); // Device Capabilities: 128-byte max payload, role-based error reporting
        Set16(e + 0x08, 0x2810, writable: 0x78FF); // Device Control: relaxed ordering, no snoop, 512-byte read requests
        Set32(e + 0x0C, 0x0000_0011); // Link Capabilities: 2.5 GT/s, x1
        Set16(e + 0x10, 0, writable: 0x00CB); // Link Control: ASPM, RCB, common clock, extended synch
        Set16(e + 0x12, 0x0011); // Link Status: 2.5 GT/s, x1
        Set32(e + 0x2C, 1u << 1); // Link Capabilities 2: 2.5 GT/s supported
        Set16(e + 0x30, 0x0001); // Link Control 2: target speed 2.5 GT/s

        if (device.AtsCapable)
        {
            // ATS extended capability, version 1, the last one (PCIe Base §10.5.1): page-aligned requests, an
            // invalidate queue depth of 32 (encoded 0), no global invalidate (no PASIDs).
            const int a = FirstExtendedCapability;
            Set32(a, ExtCapIdAts | (1u << 16));
            Set16(a + 0x04, 1 << 5);
        }
    }

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="offset"/> (the caller checks the range).</summary>
    public void Read(int offset, Span<byte> destination)
    {
        lock (_lock)
        {
            _value.AsSpan(offset, destination.Length).CopyTo(destination);
        }
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="offset"/>: only the writable bits change.</summary>
    public void Write(int offset, ReadOnlySpan<byte> source)
    {
        lock (_lock)
        {
            for (int i = 0; i < source.Length; i++)
            {
                byte mask = _writable[offset + i];
                _value[offset + i] = (byte)((_value[offset + i] & ~mask) | (source[i] & mask));
            }
        }
    }

    private void Set8(int offset, byte value, byte writable = 0)
    {
        _value[offset] = value;
        _writable[offset] = writable;
    }

    private void Set16(int offset, ushort value, ushort writable = 0)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_value.AsSpan(offset), value);
        BinaryPrimitives.WriteUInt16LittleEndian(_writable.AsSpan(offset), writable);
    }

    private void Set32(int offset, uint value, uint writable = 0)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_value.AsSpan(offset), value);
        BinaryPrimitives.WriteUInt32LittleEndian(_writable.AsSpan(offset), writable);
    }
}
