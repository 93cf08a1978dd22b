// SPDX-License-Identifier: MIT
//
// A sample VMM in C that drives /dev/iommu through real system calls only (open, ioctl, mmap, poll, read,
// close). Run it under the emulation with:  samples/native/run samples/native/build/iommufd-sample-vmm
// Each step prints what it did; the exit status is 0 when every step gave the result Linux gives.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommufd-uapi.h"

static int failures;

// Checks that a call returned rc (0 or -1) with the expected errno, and prints the step.
static void check(const char *step, int rc, int expected_errno, const char *detail)
{
	int err = rc < 0 ? errno : 0;
	int ok = err == expected_errno;
	if (!ok)
		failures++;
	printf("%-4s %-44s %s%s%s\n", ok ? "ok" : "FAIL", step, detail ? detail : "",
	       ok || !err ? "" : " errno=", ok || !err ? "" : strerrorname_np(err));
	if (!ok && !err)
		printf("     expected %s\n", strerrorname_np(expected_errno));
}

static int wait_reg(volatile uint32_t *reg, uint32_t mask, uint32_t want);

// The test DMA engine in each device's BAR0 (Iommufd.Core/Devices/DmaEngine.cs): a memcpy between two IOVAs.
#define DMA_SRC    0x00
#define DMA_DST    0x08
#define DMA_LEN    0x10
#define DMA_GO     0x14
#define DMA_STATUS 0x18
#define DMA_COUNT  0x1c

// Starts a copy and waits for it (COUNT moves); returns STATUS (0 done, 1 translation fault, ...) or -1.
static int dma_copy(volatile uint32_t *dma, uint64_t src, uint64_t dst, uint32_t len)
{
	dma[DMA_SRC / 4] = (uint32_t)src;
	dma[DMA_SRC / 4 + 1] = (uint32_t)(src >> 32);
	dma[DMA_DST / 4] = (uint32_t)dst;
	dma[DMA_DST / 4 + 1] = (uint32_t)(dst >> 32);
	dma[DMA_LEN / 4] = len;
	uint32_t count = dma[DMA_COUNT / 4];
	dma[DMA_GO / 4] = 1;
	return wait_reg(&dma[DMA_COUNT / 4], ~0u, count + 1) == 0 ? (int)dma[DMA_STATUS / 4] : -1;
}

// A page the program can read but not write: where an ioctl's output cannot go.
static void *read_only_page(const void *contents, size_t size)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(page, contents, size);
	mprotect(page, 4096, PROT_READ);
	return page;
}

// Outputs into read-only memory: copy_to_user fails, the call is EFAULT, and an allocation leaves nothing behind
// (iommufd_object_abort_and_destroy), so its ID is the next one handed out.
static void read_only_steps(int fd, uint32_t ioas_id)
{
	char detail[96];
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	void *ro = read_only_page(&alloc, sizeof(alloc));
	check("IOMMU_IOAS_ALLOC into read-only memory", ioctl(fd, IOMMU_IOAS_ALLOC, ro), EFAULT, NULL);
	int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	snprintf(detail, sizeof(detail), "ioas_id=%u", alloc.out_ioas_id);
	check("the aborted IOAS left its ID free", rc == 0 && alloc.out_ioas_id == ioas_id + 1 ? 0 : -1, 0, detail);
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = alloc.out_ioas_id };
	ioctl(fd, IOMMU_DESTROY, &destroy);
	munmap(ro, 4096);

	struct iommu_iova_range ranges[4];
	ro = read_only_page(ranges, sizeof(ranges));
	struct iommu_ioas_iova_ranges iova_ranges = {
		.size = sizeof(iova_ranges), .ioas_id = ioas_id, .num_iovas = 4, .allowed_iovas = (uintptr_t)ro,
	};
	check("IOMMU_IOAS_IOVA_RANGES into a read-only array", ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &iova_ranges), EFAULT,
	      NULL);
	munmap(ro, 4096);
}

// A device through its VFIO cdev: bind it to the iommufd, attach it to a nest parent, and build the nested
// SMMUv3 stack over it (vIOMMU, vDEVICE, vEVENTQ, nested HWPT), then invalidate with raw guest commands.
static void device_steps(int iommufd, uint32_t ioas_id, unsigned char *ram)
{
	char detail[160];
	int vfio = open("/dev/vfio/devices/vfio0", O_RDWR | O_CLOEXEC);
	snprintf(detail, sizeof(detail), "fd=%d", vfio);
	check("open /dev/vfio/devices/vfio0", vfio, 0, detail);
	check("open /dev/vfio/devices/vfio9 (no such device)", open("/dev/vfio/devices/vfio9", O_RDWR), ENOENT, NULL);
	if (vfio < 0)
		return;

	struct vfio_device_info info = { .argsz = sizeof(info) };
	check("VFIO_DEVICE_GET_INFO before bind", ioctl(vfio, VFIO_DEVICE_GET_INFO, &info), EINVAL, NULL);
	struct vfio_device_bind_iommufd bind = { .argsz = 16, .iommufd = 999 };
	check("VFIO_DEVICE_BIND_IOMMUFD to a closed fd", ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), EBADF, NULL);
	bind.iommufd = STDOUT_FILENO;
	check("VFIO_DEVICE_BIND_IOMMUFD to a non-iommufd fd", ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), EBADFD, NULL);
	bind.iommufd = iommufd;
	void *ro = read_only_page(&bind, sizeof(bind));
	check("VFIO_DEVICE_BIND_IOMMUFD into read-only memory", ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, ro), EFAULT, NULL);
	int rc = ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	snprintf(detail, sizeof(detail), "dev_id=%u", bind.out_devid);
	check("VFIO_DEVICE_BIND_IOMMUFD", rc, 0, detail);
	check("VFIO_DEVICE_BIND_IOMMUFD again", ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL, NULL);
	uint32_t dev_id = bind.out_devid;

	// The read-only page still holds the bind struct: its argsz (16) is all GET_INFO needs.
	check("VFIO_DEVICE_GET_INFO into read-only memory", ioctl(vfio, VFIO_DEVICE_GET_INFO, ro), EFAULT, NULL);
	munmap(ro, 4096);
	rc = ioctl(vfio, VFIO_DEVICE_GET_INFO, &info);
	snprintf(detail, sizeof(detail), "flags=0x%x num_regions=%u num_irqs=%u", info.flags, info.num_regions,
		 info.num_irqs);
	check("VFIO_DEVICE_GET_INFO", rc == 0 && (info.flags & VFIO_DEVICE_FLAGS_PCI) ? 0 : -1, 0, detail);
	struct vfio_region_info region = { .argsz = sizeof(region), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	rc = ioctl(vfio, VFIO_DEVICE_GET_REGION_INFO, &region);
	snprintf(detail, sizeof(detail), "config: size=0x%llx offset=0x%llx flags=0x%x",
		 (unsigned long long)region.size, (unsigned long long)region.offset, region.flags);
	check("VFIO_DEVICE_GET_REGION_INFO", rc, 0, detail);
	region.index = VFIO_PCI_VGA_REGION_INDEX;
	check("VFIO_DEVICE_GET_REGION_INFO of VGA", ioctl(vfio, VFIO_DEVICE_GET_REGION_INFO, &region), EINVAL, NULL);

	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hw_info hw = { .size = sizeof(hw), .dev_id = dev_id, .data_len = sizeof(smmu),
				    .data_uptr = (uintptr_t)&smmu };
	rc = ioctl(iommufd, IOMMU_GET_HW_INFO, &hw);
	snprintf(detail, sizeof(detail), "type=%u idr0=0x%08x max_pasid_log2=%u", hw.out_data_type, smmu.idr[0],
		 hw.out_max_pasid_log2);
	check("IOMMU_GET_HW_INFO", rc, 0, detail);

	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
					   .dev_id = dev_id, .pt_id = ioas_id };
	rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &parent);
	snprintf(detail, sizeof(detail), "hwpt_id=%u", parent.out_hwpt_id);
	check("IOMMU_HWPT_ALLOC nest parent", rc, 0, detail);
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = parent.out_hwpt_id };
	rc = ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	snprintf(detail, sizeof(detail), "pt_id=%u", attach.pt_id);
	check("VFIO_DEVICE_ATTACH_IOMMUFD_PT nest parent", rc, 0, detail);

	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					     .dev_id = dev_id, .hwpt_id = parent.out_hwpt_id };
	rc = ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &viommu);
	snprintf(detail, sizeof(detail), "viommu_id=%u", viommu.out_viommu_id);
	check("IOMMU_VIOMMU_ALLOC ARM_SMMUV3", rc, 0, detail);
	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev), .viommu_id = viommu.out_viommu_id,
					    .dev_id = dev_id, .virt_id = 0x8 };
	rc = ioctl(iommufd, IOMMU_VDEVICE_ALLOC, &vdev);
	snprintf(detail, sizeof(detail), "vdevice_id=%u virt_id=0x%llx", vdev.out_vdevice_id,
		 (unsigned long long)vdev.virt_id);
	check("IOMMU_VDEVICE_ALLOC", rc, 0, detail);

	struct iommu_veventq_alloc veventq = { .size = sizeof(veventq), .viommu_id = viommu.out_viommu_id,
					       .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, .veventq_depth = 16 };
	rc = ioctl(iommufd, IOMMU_VEVENTQ_ALLOC, &veventq);
	int event_fd = rc < 0 ? -1 : (int)veventq.out_veventq_fd;
	snprintf(detail, sizeof(detail), "veventq_id=%u fd=%d", veventq.out_veventq_id, event_fd);
	check("IOMMU_VEVENTQ_ALLOC ARM_SMMUV3", rc, 0, detail);
	struct pollfd pfd = { .fd = event_fd, .events = POLLIN };
	check("poll of an empty vEVENTQ: not readable", poll(&pfd, 1, 0) == 0 ? 0 : -1, 0, NULL);
	unsigned char records[256];
	check("read of an empty vEVENTQ returns 0", read(event_fd, records, sizeof(records)) == 0 ? 0 : -1, 0, NULL);

	// A guest STE that bypasses stage 1 (IHI 0070 5.2: V = 1, Config = 0b100), stage 2 from the parent.
	struct iommu_hwpt_arm_smmuv3 ste = { .ste = { 0x9, 0 } };
	struct iommu_hwpt_alloc nested = { .size = sizeof(nested), .dev_id = dev_id, .pt_id = viommu.out_viommu_id,
					   .data_type = IOMMU_HWPT_DATA_ARM_SMMUV3, .data_len = sizeof(ste),
					   .data_uptr = (uintptr_t)&ste };
	rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &nested);
	snprintf(detail, sizeof(detail), "hwpt_id=%u", nested.out_hwpt_id);
	check("IOMMU_HWPT_ALLOC nested (bypass STE)", rc, 0, detail);
	attach.pt_id = nested.out_hwpt_id;
	check("VFIO_DEVICE_ATTACH_IOMMUFD_PT nested (replace)", ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), 0,
	      NULL);

	// The device DMAs through the nested HWPT (stage 1 bypassed, stage 2 = the IOAS): a page of guest RAM copied to
	// another, then a copy from an IOVA nothing maps.
	struct vfio_region_info bar0 = { .argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX };
	rc = ioctl(vfio, VFIO_DEVICE_GET_REGION_INFO, &bar0);
	snprintf(detail, sizeof(detail), "size=0x%llx flags=0x%x", (unsigned long long)bar0.size, bar0.flags);
	check("VFIO_DEVICE_GET_REGION_INFO BAR0 (the DMA engine)",
	      rc == 0 && (bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) ? 0 : -1, 0, detail);
	check("mmap of BAR0 MAP_PRIVATE",
	      mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, vfio, (off_t)bar0.offset) == MAP_FAILED ? -1 : 0,
	      EINVAL, NULL);
	volatile uint32_t *dma = mmap(NULL, bar0.size, PROT_READ | PROT_WRITE, MAP_SHARED, vfio, (off_t)bar0.offset);
	check("mmap of BAR0", dma == MAP_FAILED ? -1 : 0, 0, NULL);
	if (dma != MAP_FAILED) {
		memset(ram + 0x2000, 0xa5, 4096);
		memset(ram + 0x3000, 0, 4096);
		int status = dma_copy(dma, 0x80002000, 0x80003000, 4096);
		snprintf(detail, sizeof(detail), "status=%d ram[0x3000]=0x%02x ram[0x3fff]=0x%02x", status, ram[0x3000],
			 ram[0x3fff]);
		check("DMA copy IOVA 0x80002000 -> 0x80003000 through the IOMMU",
		      status == 0 && ram[0x3000] == 0xa5 && ram[0x3fff] == 0xa5 ? 0 : -1, 0, detail);
		status = dma_copy(dma, 0x90000000, 0x80003000, 64);
		snprintf(detail, sizeof(detail), "status=%d", status);
		check("DMA from an unmapped IOVA: a translation fault", status == 1 ? 0 : -1, 0, detail);
		check("munmap of BAR0", munmap((void *)dma, bar0.size), 0, NULL);
	}

	// Raw guest commands (IHI 0070 4.1): TLBI_NH_ASID (0x11, ASID in bits [63:48]) and CFGI_CD_ALL (0x06, the
	// guest's StreamID in bits [63:32]), then one the vIOMMU must refuse: TLBI_S12_VMALL (0x28).
	struct iommu_viommu_arm_smmuv3_invalidate cmds[3] = {
		{ { 0x11 | (1ull << 48), 0 } },
		{ { 0x06 | (0x8ull << 32), 0 } },
		{ { 0x28, 0 } },
	};
	struct iommu_hwpt_invalidate inv = { .size = sizeof(inv), .hwpt_id = viommu.out_viommu_id,
					     .data_uptr = (uintptr_t)cmds,
					     .data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
					     .entry_len = sizeof(cmds[0]), .entry_num = 2 };
	rc = ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &inv);
	snprintf(detail, sizeof(detail), "entry_num=%u", inv.entry_num);
	check("IOMMU_HWPT_INVALIDATE 2 raw SMMUv3 entries", rc == 0 && inv.entry_num == 2 ? 0 : -1, 0, detail);
	inv.entry_num = 3;
	rc = ioctl(iommufd, IOMMU_HWPT_INVALIDATE, &inv);
	snprintf(detail, sizeof(detail), "entry_num=%u (the refused entry's index)", inv.entry_num);
	check("IOMMU_HWPT_INVALIDATE with an illegal entry", rc < 0 && inv.entry_num == 2 ? rc : 0, EIO, detail);

	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };
	check("VFIO_DEVICE_DETACH_IOMMUFD_PT", ioctl(vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach), 0, NULL);
	check("close the vEVENTQ fd", close(event_fd), 0, NULL);
	check("close the device fd (unbinds it)", close(vfio), 0, NULL);
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = vdev.out_vdevice_id };
	check("IOMMU_DESTROY of the unbound device's vDEVICE", ioctl(iommufd, IOMMU_DESTROY, &destroy), ENOENT, NULL);
	destroy.id = nested.out_hwpt_id;
	check("IOMMU_DESTROY nested HWPT", ioctl(iommufd, IOMMU_DESTROY, &destroy), 0, NULL);
	destroy.id = veventq.out_veventq_id;
	check("IOMMU_DESTROY vEVENTQ", ioctl(iommufd, IOMMU_DESTROY, &destroy), 0, NULL);
	destroy.id = viommu.out_viommu_id;
	check("IOMMU_DESTROY vIOMMU", ioctl(iommufd, IOMMU_DESTROY, &destroy), 0, NULL);
	destroy.id = parent.out_hwpt_id;
	check("IOMMU_DESTROY nest parent", ioctl(iommufd, IOMMU_DESTROY, &destroy), 0, NULL);
}

// Waits (up to 2 s) until the 32-bit register at reg, masked, reads want: the CMDQV consumes in the background.
static int wait_reg(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
	for (int i = 0; i < 2000000; i++) {
		if ((*reg & mask) == want)
			return 0;
		if (i % 1000 == 999)
			usleep(1000);
	}
	return -1;
}

// Tegra241 VCMDQ registers in the VINTF page (0x80 per logical queue) and the fields the sample uses.
#define VCMDQ_CONS    0x00
#define VCMDQ_PROD    0x04
#define VCMDQ_CONFIG  0x08
#define VCMDQ_STATUS  0x0c
#define VCMDQ_GERROR  0x10
#define VCMDQ_GERRORN 0x14
#define VCMDQ_EN      (1u << 0)
#define CERROR_ILL    1u

// The direct path: a Tegra241 CMDQV vIOMMU whose VINTF page is mmapped, a HW queue in guest RAM, commands
// written into that RAM and PROD rung with a plain store, an illegal command reported through the vEVENTQ.
static void tegra241_steps(int iommufd, uint32_t ioas_id, unsigned char *ram)
{
	char detail[160];
	int vfio = open("/dev/vfio/devices/vfio1", O_RDWR | O_CLOEXEC);
	struct vfio_device_bind_iommufd bind = { .argsz = 16, .iommufd = iommufd };
	check("open and bind /dev/vfio/devices/vfio1", vfio < 0 ? vfio : ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0,
	      NULL);
	if (vfio < 0)
		return;
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
					   .dev_id = bind.out_devid, .pt_id = ioas_id };
	int rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &parent);
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = parent.out_hwpt_id };
	check("nest parent for vfio1, attached", rc < 0 ? rc : ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), 0,
	      NULL);

	struct iommu_viommu_tegra241_cmdqv data = { 0 };
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV,
					     .dev_id = bind.out_devid, .hwpt_id = parent.out_hwpt_id,
					     .data_len = sizeof(data), .data_uptr = (uintptr_t)&data };
	rc = ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &viommu);
	snprintf(detail, sizeof(detail), "viommu_id=%u mmap offset=0x%llx length=0x%llx", viommu.out_viommu_id,
		 (unsigned long long)data.out_vintf_mmap_offset, (unsigned long long)data.out_vintf_mmap_length);
	check("IOMMU_VIOMMU_ALLOC TEGRA241_CMDQV", rc, 0, detail);
	if (rc < 0)
		return;
	struct iommu_vdevice_alloc vdev = { .size = sizeof(vdev), .viommu_id = viommu.out_viommu_id,
					    .dev_id = bind.out_devid, .virt_id = 0x9 };
	check("IOMMU_VDEVICE_ALLOC on the CMDQV vIOMMU", ioctl(iommufd, IOMMU_VDEVICE_ALLOC, &vdev), 0, NULL);
	struct iommu_veventq_alloc veventq = { .size = sizeof(veventq), .viommu_id = viommu.out_viommu_id,
					       .type = IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV, .veventq_depth = 16 };
	rc = ioctl(iommufd, IOMMU_VEVENTQ_ALLOC, &veventq);
	int event_fd = rc < 0 ? -1 : (int)veventq.out_veventq_fd;
	check("IOMMU_VEVENTQ_ALLOC TEGRA241_CMDQV", rc, 0, NULL);

	// mmap rules (iommufd_fops_mmap): shared only, never executable, exactly the registered offset and length.
	size_t len = data.out_vintf_mmap_length;
	off_t off = (off_t)data.out_vintf_mmap_offset;
	check("mmap of the VINTF page MAP_PRIVATE",
	      mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, iommufd, off) == MAP_FAILED ? -1 : 0, EINVAL, NULL);
	check("mmap of the VINTF page PROT_EXEC",
	      mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_SHARED, iommufd, off) == MAP_FAILED ? -1 : 0, EPERM, NULL);
	check("mmap at an unregistered offset",
	      mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, iommufd, off + len) == MAP_FAILED ? -1 : 0, ENXIO, NULL);
	check("mmap of half the VINTF page",
	      mmap(NULL, len / 2, PROT_READ | PROT_WRITE, MAP_SHARED, iommufd, off) == MAP_FAILED ? -1 : 0, ENXIO, NULL);
	volatile uint32_t *page = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, iommufd, off);
	snprintf(detail, sizeof(detail), "at %p", (void *)page);
	check("mmap of the VINTF page", page == MAP_FAILED ? -1 : 0, 0, detail);
	if (page == MAP_FAILED)
		return;

	// LVCMDQ 0: 64 entries of guest RAM at IPA 0x80100000 (1 MiB into the RAM the IOAS maps at 0x80000000).
	uint64_t *queue = (uint64_t *)(ram + (1 << 20));
	struct iommu_hw_queue_alloc hwq = { .size = sizeof(hwq), .viommu_id = viommu.out_viommu_id,
					    .type = IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV, .index = 0,
					    .nesting_parent_iova = 0x80100000, .length = 64 * 16 };
	rc = ioctl(iommufd, IOMMU_HW_QUEUE_ALLOC, &hwq);
	snprintf(detail, sizeof(detail), "hw_queue_id=%u", hwq.out_hw_queue_id);
	check("IOMMU_HW_QUEUE_ALLOC LVCMDQ 0", rc, 0, detail);
	volatile uint32_t *q0 = page; // logical queue 0's registers
	q0[VCMDQ_CONFIG / 4] = VCMDQ_EN;
	check("plain store VCMDQ_CONFIG.EN, STATUS reads enabled", wait_reg(&q0[VCMDQ_STATUS / 4], 1, 1), 0, NULL);

	// TLBI_NH_ALL (0x10) and CMD_SYNC (0x46), then PROD = 2 with a plain store: no system call.
	queue[0] = 0x10;
	queue[1] = 0;
	queue[2] = 0x46;
	queue[3] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q0[VCMDQ_PROD / 4] = 2;
	rc = wait_reg(&q0[VCMDQ_CONS / 4], 0xff00007f, 2);
	snprintf(detail, sizeof(detail), "CONS=0x%08x", q0[VCMDQ_CONS / 4]);
	check("plain store PROD=2: the CMDQV consumed both", rc, 0, detail);

	struct pollfd pfd = { .fd = event_fd, .events = POLLIN };
	check("poll of the vEVENTQ before an error: not readable", poll(&pfd, 1, 0) == 0 ? 0 : -1, 0, NULL);
	// CMD_SYNC with CS = 3 is an encoding the SMMU refuses (IHI 0070 4.7.3): CERROR_ILL stops the queue there.
	queue[4] = 0x46 | (3ull << 12);
	queue[5] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q0[VCMDQ_PROD / 4] = 3;
	rc = wait_reg(&q0[VCMDQ_CONS / 4], 0x7f00007f, (CERROR_ILL << 24) | 2);
	snprintf(detail, sizeof(detail), "CONS=0x%08x GERROR=0x%x", q0[VCMDQ_CONS / 4], q0[VCMDQ_GERROR / 4]);
	check("an illegal entry: CONS.ERR = CERROR_ILL at entry 2", rc, 0, detail);
	rc = poll(&pfd, 1, 2000);
	snprintf(detail, sizeof(detail), "revents=0x%x", pfd.revents);
	check("poll of the vEVENTQ after the error: readable", rc == 1 && (pfd.revents & POLLIN) ? 0 : -1, 0, detail);
	unsigned char records[64];
	void *ro = read_only_page(records, sizeof(records));
	check("read of the vEVENTQ into read-only memory (the record stays)",
	      read(event_fd, ro, sizeof(records)) < 0 ? -1 : 0, EFAULT, NULL);
	munmap(ro, 4096);
	check("read with room for less than one record returns 0", read(event_fd, records, 20) == 0 ? 0 : -1, 0, NULL);
	ssize_t got = read(event_fd, records, sizeof(records));
	struct iommufd_vevent_header header;
	struct iommu_vevent_tegra241_cmdqv event;
	memcpy(&header, records, sizeof(header));
	memcpy(&event, records + sizeof(header), sizeof(event));
	snprintf(detail, sizeof(detail), "%zd bytes: flags=0x%x sequence=%u lvcmdq_err_map=0x%llx", got, header.flags,
		 header.sequence, (unsigned long long)event.lvcmdq_err_map[0]);
	check("read of the vEVENTQ: one whole record", got == 24 && event.lvcmdq_err_map[0] == 1 ? 0 : -1, 0, detail);
	check("poll after reading it: not readable", poll(&pfd, 1, 0) == 0 ? 0 : -1, 0, NULL);

	// The guest driver's recovery: acknowledge the error by toggling GERRORN to GERROR.
	q0[VCMDQ_GERRORN / 4] = q0[VCMDQ_GERROR / 4];
	check("munmap of the VINTF page", munmap((void *)page, len), 0, NULL);
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = hwq.out_hw_queue_id };
	check("IOMMU_DESTROY HW queue", ioctl(iommufd, IOMMU_DESTROY, &destroy), 0, NULL);
	close(event_fd);
	check("close vfio1", close(vfio), 0, NULL);
	uint32_t left[] = { veventq.out_veventq_id, viommu.out_viommu_id, parent.out_hwpt_id };
	int busy = 0;
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		destroy.id = left[i];
		busy |= ioctl(iommufd, IOMMU_DESTROY, &destroy);
	}
	check("IOMMU_DESTROY vEVENTQ, vIOMMU and nest parent", busy, 0, NULL);
}

int main(void)
{
	char detail[128];
	int fd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	snprintf(detail, sizeof(detail), "fd=%d", fd);
	check("open /dev/iommu", fd, 0, detail);
	if (fd < 0)
		return 1;

	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &alloc);
	snprintf(detail, sizeof(detail), "ioas_id=%u", alloc.out_ioas_id);
	check("IOMMU_IOAS_ALLOC", rc, 0, detail);

	// Guest RAM: the program's own anonymous memory, mapped into the IOAS at IOVA 0x80000000.
	const size_t ram_size = 2 << 20;
	unsigned char *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(ram, 0x5a, 4096);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = alloc.out_ioas_id,
		.user_va = (uintptr_t)ram,
		.length = ram_size,
		.iova = 0x80000000,
	};
	rc = ioctl(fd, IOMMU_IOAS_MAP, &map);
	snprintf(detail, sizeof(detail), "user_va=%p length=0x%zx iova=0x%llx", (void *)ram, ram_size,
		 (unsigned long long)map.iova);
	check("IOMMU_IOAS_MAP own memory", rc, 0, detail);
	check("guest RAM still holds what was written", ram[0] == 0x5a && ram[4095] == 0x5a ? 0 : -1, 0, NULL);

	rc = ioctl(fd, IOMMU_IOAS_MAP, &map);
	check("IOMMU_IOAS_MAP the same IOVA again", rc, EEXIST, NULL);

	unsigned char *hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 4096);
	struct iommu_ioas_map bad = map;
	bad.user_va = (uintptr_t)hole;
	bad.length = 4096;
	bad.iova = 0x90000000;
	/* With no domain attached the kernel only takes a lazy reference (pages.c pins when a domain or an access
	 * needs the pages), so mapping memory the process does not have succeeds; it would be EFAULT once a domain
	 * is attached. Take it out again so that the domains below can be filled. */
	check("IOMMU_IOAS_MAP of unmapped memory, no domain yet", ioctl(fd, IOMMU_IOAS_MAP, &bad), 0, NULL);
	struct iommu_ioas_unmap unbad = { .size = sizeof(unbad), .ioas_id = alloc.out_ioas_id, .iova = bad.iova, .length = 4096 };
	check("IOMMU_IOAS_UNMAP of it", ioctl(fd, IOMMU_IOAS_UNMAP, &unbad), 0, NULL);
	check("ioctl with an unmapped argument", ioctl(fd, IOMMU_IOAS_ALLOC, hole), EFAULT, NULL);

	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges iova_ranges = {
		.size = sizeof(iova_ranges), .ioas_id = alloc.out_ioas_id, .num_iovas = 4,
		.allowed_iovas = (uintptr_t)ranges,
	};
	rc = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &iova_ranges);
	snprintf(detail, sizeof(detail), "num_iovas=%u first=[0x%llx, 0x%llx]", iova_ranges.num_iovas,
		 (unsigned long long)ranges[0].start, (unsigned long long)ranges[0].last);
	check("IOMMU_IOAS_IOVA_RANGES", rc, 0, detail);

	check("unknown ioctl", ioctl(fd, _IO(IOMMUFD_IOCTL_TYPE, 0x7f), &alloc), ENOTTY, NULL);

	read_only_steps(fd, alloc.out_ioas_id);
	device_steps(fd, alloc.out_ioas_id, ram);
	tegra241_steps(fd, alloc.out_ioas_id, ram);

	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 999 };
	check("IOMMU_DESTROY of an unknown id", ioctl(fd, IOMMU_DESTROY, &destroy), ENOENT, NULL);
	destroy.id = alloc.out_ioas_id;
	check("IOMMU_DESTROY of a mapped IOAS", ioctl(fd, IOMMU_DESTROY, &destroy), 0, NULL);

	check("close /dev/iommu", close(fd), 0, NULL);
	printf("%s: %d step(s) failed\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
