// SPDX-License-Identifier: MIT
//
// A fixed run of ioctls, each printed with the bytes it passed and the bytes and result it got back, so that a
// test can replay the same bytes through the C# raw entry point and compare (Iommufd.Tests/Native/
// AbiTraceTests.cs). Calls whose structs carry user pointers (user_va, data_uptr, allowed_iovas) point into a
// window mapped at a fixed address, MEM_BASE, which the replay maps at the same address in its own process; such
// a call also prints the part of the window it reads or writes, before and after. Output lines:
//   FD iommu <fd>
//   CALL <node> <request> <bytes in> -> <rc> <errno> <bytes out>
//   CALLP <node> <request> <bytes in> <window offset> <window length> <window in> -> <rc> <errno> <bytes out> <window out>
// with bytes as hex ("-" for none); <node> is "iommu" or the device node's name ("vfio0").

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommufd-uapi.h"

static void hex(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const unsigned char *)p)[i]);
}

#define MEM_BASE 0x3f0000000000ul
#define MEM_SIZE 0x20000ul
static unsigned char *mem;

static void hex_or_dash(const void *p, size_t n)
{
	if (n)
		hex(p, n);
	else
		printf("-");
}

// A call whose struct points into the window: [off, off + n) of it is printed before and after.
static int callp(int fd, const char *node, unsigned long request, void *arg, size_t len, size_t off, size_t n)
{
	printf("CALLP %s 0x%lx ", node, request);
	hex(arg, len);
	printf(" 0x%zx %zu ", off, n);
	hex_or_dash(mem + off, n);
	int rc = ioctl(fd, request, arg);
	int err = rc < 0 ? errno : 0;
	printf(" -> %d %d ", rc, err);
	hex(arg, len);
	printf(" ");
	hex_or_dash(mem + off, n);
	printf("\n");
	return rc;
}

static int call(int fd, const char *node, unsigned long request, void *arg, size_t len)
{
	printf("CALL %s 0x%lx ", node, request);
	hex(arg, len);
	int rc = ioctl(fd, request, arg);
	int err = rc < 0 ? errno : 0;
	printf(" -> %d %d ", rc, err);
	hex(arg, len);
	printf("\n");
	return rc;
}

int main(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	int vfio = open("/dev/vfio/devices/vfio0", O_RDWR);
	if (fd < 0 || vfio < 0) {
		perror("open");
		return 1;
	}
	printf("FD iommu %d\n", fd);

	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	call(fd, "iommu", IOMMU_IOAS_ALLOC, &ioas, sizeof(ioas));
	struct iommu_ioas_alloc bad = { .size = sizeof(bad), .flags = 1 };
	call(fd, "iommu", IOMMU_IOAS_ALLOC, &bad, sizeof(bad));
	unsigned char longer[24] = { 0 };
	longer[0] = sizeof(longer);
	longer[20] = 1; // a non-zero byte past the kernel's struct: E2BIG
	call(fd, "iommu", IOMMU_IOAS_ALLOC, longer, sizeof(longer));
	unsigned char shorter[8] = { 8 }; // shorter than the first version of the struct
	call(fd, "iommu", IOMMU_IOAS_ALLOC, shorter, sizeof(shorter));
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .ioas_id = ioas.out_ioas_id };
	call(fd, "iommu", IOMMU_IOAS_IOVA_RANGES, &ranges, sizeof(ranges)); // num_iovas 0: EMSGSIZE with the count
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas.out_ioas_id, .iova = 0x1000,
					  .length = 0x1000 };
	call(fd, "iommu", IOMMU_IOAS_UNMAP, &unmap, sizeof(unmap));

	struct vfio_device_info info = { .argsz = sizeof(info) };
	call(vfio, "vfio0", VFIO_DEVICE_GET_INFO, &info, sizeof(info));
	struct vfio_device_bind_iommufd bind = { .argsz = 16, .iommufd = fd };
	call(vfio, "vfio0", VFIO_DEVICE_BIND_IOMMUFD, &bind, sizeof(bind));
	call(vfio, "vfio0", VFIO_DEVICE_GET_INFO, &info, sizeof(info));
	for (uint32_t index = 0; index <= VFIO_PCI_NUM_REGIONS; index++) {
		struct vfio_region_info region = { .argsz = sizeof(region), .index = index };
		call(vfio, "vfio0", VFIO_DEVICE_GET_REGION_INFO, &region, sizeof(region));
	}
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = ioas.out_ioas_id };
	call(vfio, "vfio0", VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach, sizeof(attach));
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	call(vfio, "vfio0", VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach, sizeof(detach));

	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
					   .dev_id = bind.out_devid, .pt_id = ioas.out_ioas_id };
	call(fd, "iommu", IOMMU_HWPT_ALLOC, &parent, sizeof(parent));
	struct iommu_hwpt_alloc bad_hwpt = parent;
	bad_hwpt.flags = 1u << 7;
	call(fd, "iommu", IOMMU_HWPT_ALLOC, &bad_hwpt, sizeof(bad_hwpt));
	attach.pt_id = parent.out_hwpt_id;
	call(vfio, "vfio0", VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach, sizeof(attach));
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					     .dev_id = bind.out_devid, .hwpt_id = parent.out_hwpt_id };
	call(fd, "iommu", IOMMU_VIOMMU_ALLOC, &viommu, sizeof(viommu));
	struct iommu_viommu_alloc bad_type = viommu;
	bad_type.type = 0x55;
	call(fd, "iommu", IOMMU_VIOMMU_ALLOC, &bad_type, sizeof(bad_type));
	// Calls with user pointers, into the window (the device is attached to a domain of the IOAS: maps pin).
	mem = mmap((void *)MEM_BASE, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (mem != (unsigned char *)MEM_BASE) {
		perror("mmap of the window");
		return 1;
	}
	for (size_t i = 0x10000; i < MEM_SIZE; i++)
		mem[i] = (unsigned char)(i * 13);
	struct iommu_hw_info hw = { .size = sizeof(hw), .dev_id = bind.out_devid, .data_len = 64,
				    .data_uptr = MEM_BASE };
	callp(fd, "iommu", IOMMU_GET_HW_INFO, &hw, sizeof(hw), 0, 64);
	hw.data_len = 16; // a shorter buffer: only its bytes are written
	memset(mem, 0xcc, 64);
	callp(fd, "iommu", IOMMU_GET_HW_INFO, &hw, sizeof(hw), 0, 64);
	hw.data_uptr = 0x1000; // unmapped
	callp(fd, "iommu", IOMMU_GET_HW_INFO, &hw, sizeof(hw), 0, 0);
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = ioas.out_ioas_id, .user_va = MEM_BASE + 0x10000,
				      .length = 0x10000, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE };
	callp(fd, "iommu", IOMMU_IOAS_MAP, &map, sizeof(map), 0, 0); // the kernel's IOVA allocator picks the IOVA
	struct iommu_ioas_map unmapped = map;
	unmapped.user_va = 0x1000;
	unmapped.iova = 0;
	callp(fd, "iommu", IOMMU_IOAS_MAP, &unmapped, sizeof(unmapped), 0, 0); // pinning faults: EFAULT
	struct iommu_ioas_iova_ranges all = { .size = sizeof(all), .ioas_id = ioas.out_ioas_id, .num_iovas = 4,
					      .allowed_iovas = MEM_BASE + 0x100 };
	callp(fd, "iommu", IOMMU_IOAS_IOVA_RANGES, &all, sizeof(all), 0x100, 4 * sizeof(struct iommu_iova_range));
	struct iommu_iova_range *allow = (struct iommu_iova_range *)(mem + 0x200);
	allow->start = 0x100000;
	allow->last = 0x1fffff;
	struct iommu_ioas_allow_iovas allowed = { .size = sizeof(allowed), .ioas_id = ioas.out_ioas_id, .num_iovas = 1,
						  .allowed_iovas = MEM_BASE + 0x200 };
	callp(fd, "iommu", IOMMU_IOAS_ALLOW_IOVAS, &allowed, sizeof(allowed), 0x200, sizeof(*allow));
	allowed.allowed_iovas = 0x1000;
	callp(fd, "iommu", IOMMU_IOAS_ALLOW_IOVAS, &allowed, sizeof(allowed), 0, 0); // EFAULT
	uint64_t *cmds = (uint64_t *)(mem + 0x300);
	cmds[0] = 0x11 | (1ull << 48); // TLBI_NH_ASID, ASID 1
	cmds[1] = 0;
	cmds[2] = 0x11 | (2ull << 48);
	cmds[3] = 0;
	cmds[4] = 0xff; // no such opcode: entry_num comes back as 2
	cmds[5] = 0;
	struct iommu_hwpt_invalidate inv = { .size = sizeof(inv), .hwpt_id = viommu.out_viommu_id, .data_uptr = MEM_BASE + 0x300,
					     .data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, .entry_len = 16, .entry_num = 3 };
	callp(fd, "iommu", IOMMU_HWPT_INVALIDATE, &inv, sizeof(inv), 0x300, 48);
	inv.entry_num = 2;
	callp(fd, "iommu", IOMMU_HWPT_INVALIDATE, &inv, sizeof(inv), 0x300, 48);
	inv.entry_num = 3;
	inv.data_uptr = MEM_BASE + MEM_SIZE - 32; // the third entry runs past the window
	callp(fd, "iommu", IOMMU_HWPT_INVALIDATE, &inv, sizeof(inv), MEM_SIZE - 32, 32);

	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev), .viommu_id = viommu.out_viommu_id,
					    .dev_id = bind.out_devid, .virt_id = 0x8 };
	call(fd, "iommu", IOMMU_VDEVICE_ALLOC, &vdev, sizeof(vdev));
	call(fd, "iommu", IOMMU_VDEVICE_ALLOC, &vdev, sizeof(vdev)); // a second vDEVICE of the device: EEXIST
	struct iommu_veventq_alloc veventq = { .size = sizeof(veventq), .viommu_id = viommu.out_viommu_id,
					       .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, .veventq_depth = 8 };
	call(fd, "iommu", IOMMU_VEVENTQ_ALLOC, &veventq, sizeof(veventq));
	call(fd, "iommu", IOMMU_VEVENTQ_ALLOC, &veventq, sizeof(veventq)); // one per type: EEXIST
	struct iommu_hw_queue_alloc hwq = { .size = sizeof(hwq), .viommu_id = viommu.out_viommu_id,
					    .type = IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, .nesting_parent_iova = 0x1000,
					    .length = 0x1000 };
	call(fd, "iommu", IOMMU_HW_QUEUE_ALLOC, &hwq, sizeof(hwq)); // an SMMUv3 vIOMMU has no HW queues

	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = viommu.out_viommu_id };
	call(fd, "iommu", IOMMU_DESTROY, &destroy, sizeof(destroy)); // in use: EBUSY
	destroy.id = vdev.out_vdevice_id;
	call(fd, "iommu", IOMMU_DESTROY, &destroy, sizeof(destroy));
	destroy.id = 999;
	call(fd, "iommu", IOMMU_DESTROY, &destroy, sizeof(destroy));
	unsigned char unknown[8] = { 8 };
	call(fd, "iommu", _IO(IOMMUFD_IOCTL_TYPE, 0x7f), unknown, sizeof(unknown));
	call(vfio, "vfio0", _IO(VFIO_TYPE, 0x7f), unknown, sizeof(unknown));
	close(vfio);
	close(fd);
	return 0;
}
