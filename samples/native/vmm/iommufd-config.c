// SPDX-License-Identifier: MIT
//
// PCI config space of the device nodes through pread/pwrite at the config region's offset, as a VMM reads it
// (QEMU's vfio-pci does this before it builds its virtual device). For vfio0 and vfio1 it prints
//   REGION <node> <size> <flags> <offset>           VFIO_DEVICE_GET_REGION_INFO of VFIO_PCI_CONFIG_REGION_INDEX
//   CAP <node> <id> <offset> / ECAP <node> <id> <version> <offset>   the capability lists, walked by their pointers
//   CONFIG <node> <4096 bytes as hex>              the whole space, in one pread
// and then, each as "ok"/"FAIL <step> <detail>", the write and errno rules. The exit status is 0 when all passed.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iommufd-uapi.h"

#define CFG_SIZE 4096

static int failures;
static uint64_t config_offset;

static void check(const char *step, int ok, long got)
{
	if (!ok)
		failures++;
	printf("%s %s %ld\n", ok ? "ok" : "FAIL", step, got);
}

static long cfg_read(int fd, void *buf, size_t n, uint64_t pos)
{
	ssize_t rc = pread(fd, buf, n, (off_t)(config_offset + pos));
	return rc < 0 ? -errno : rc;
}

static long cfg_write(int fd, const void *buf, size_t n, uint64_t pos)
{
	ssize_t rc = pwrite(fd, buf, n, (off_t)(config_offset + pos));
	return rc < 0 ? -errno : rc;
}

static uint32_t read32(int fd, uint64_t pos)
{
	uint32_t v = 0;
	cfg_read(fd, &v, 4, pos);
	return v;
}

static uint16_t read16(int fd, uint64_t pos)
{
	uint16_t v = 0;
	cfg_read(fd, &v, 2, pos);
	return v;
}

static void dump(int fd, const char *node)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info) != 0) {
		check("GET_REGION_INFO of the config region", 0, -errno);
		return;
	}
	config_offset = info.offset;
	printf("REGION %s %llu %u 0x%llx\n", node, (unsigned long long)info.size, info.flags,
	       (unsigned long long)info.offset);

	// The standard list starts at PCI_CAPABILITY_LIST (0x34); each entry is ID, next (PCI Local Bus 3.0 §6.7).
	uint8_t at = 0;
	cfg_read(fd, &at, 1, 0x34);
	for (int guard = 0; at >= 0x40 && guard < 48; guard++) {
		uint8_t id = 0, next = 0;
		cfg_read(fd, &id, 1, at);
		cfg_read(fd, &next, 1, at + 1u);
		printf("CAP %s 0x%02x 0x%02x\n", node, id, at);
		at = next & 0xfc;
	}
	// Extended capabilities from 0x100: ID [15:0], version [19:16], next [31:20] (PCIe Base §7.6.3).
	for (uint32_t pos = 0x100, guard = 0; pos >= 0x100 && guard < 64; guard++) {
		uint32_t header = read32(fd, pos);
		if (header == 0)
			break;
		printf("ECAP %s 0x%04x %u 0x%03x\n", node, header & 0xffff, (header >> 16) & 0xf, pos);
		pos = header >> 20;
	}

	static unsigned char space[CFG_SIZE];
	long n = cfg_read(fd, space, sizeof(space), 0);
	printf("CONFIG %s ", node);
	for (long i = 0; i < n; i++)
		printf("%02x", space[i]);
	printf("\n");
}

int main(void)
{
	int iommu = open("/dev/iommu", O_RDWR);
	int vfio0 = open("/dev/vfio/devices/vfio0", O_RDWR);
	int vfio1 = open("/dev/vfio/devices/vfio1", O_RDWR);
	if (iommu < 0 || vfio0 < 0 || vfio1 < 0) {
		perror("open");
		return 1;
	}
	uint32_t word;
	config_offset = (uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40;
	check("pread_before_bind_is_EINVAL", cfg_read(vfio0, &word, 4, 0) == -EINVAL, cfg_read(vfio0, &word, 4, 0));

	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommu };
	if (ioctl(vfio0, VFIO_DEVICE_BIND_IOMMUFD, &bind) != 0 || ioctl(vfio1, VFIO_DEVICE_BIND_IOMMUFD, &bind) != 0) {
		perror("VFIO_DEVICE_BIND_IOMMUFD");
		return 1;
	}
	dump(vfio0, "vfio0");
	dump(vfio1, "vfio1");

	// A read-only field keeps its value; writable bits take the write; BAR0 sizing reads back its size.
	uint32_t ones = 0xffffffff;
	uint16_t vendor = read16(vfio0, 0x00);
	check("write_to_vendor_id_returns_its_length", cfg_write(vfio0, &ones, 2, 0x00) == 2, cfg_write(vfio0, &ones, 2, 0x00));
	check("vendor_id_is_unchanged", read16(vfio0, 0x00) == vendor, read16(vfio0, 0x00));
	uint16_t command = 0xffff;
	cfg_write(vfio0, &command, 2, 0x04);
	check("command_keeps_only_its_writable_bits", read16(vfio0, 0x04) == 0x0546, read16(vfio0, 0x04));
	uint16_t status = read16(vfio0, 0x06);
	cfg_write(vfio0, &ones, 2, 0x06);
	check("status_is_unchanged", read16(vfio0, 0x06) == status, read16(vfio0, 0x06));
	cfg_write(vfio0, &ones, 4, 0x10);
	check("bar0_sizing_reads_back_4_KiB", read32(vfio0, 0x10) == 0xfffff000u, (long)read32(vfio0, 0x10));
	uint32_t base = 0xfe001000;
	cfg_write(vfio0, &base, 4, 0x10);
	check("bar0_keeps_its_address", read32(vfio0, 0x10) == base, (long)read32(vfio0, 0x10));
	cfg_write(vfio0, &ones, 4, 0x14);
	check("bar1_is_unimplemented", read32(vfio0, 0x14) == 0, (long)read32(vfio0, 0x14));
	uint16_t ats_control = read16(vfio1, 0x106);
	cfg_write(vfio1, &ones, 2, 0x106);
	check("ats_control_is_read_only_through_vfio", read16(vfio1, 0x106) == ats_control, read16(vfio1, 0x106));
	unsigned char odd[3] = { 0x5a, 0x5a, 0x5a };
	check("an_unaligned_3_byte_read_moves_3_bytes", cfg_read(vfio0, odd, 3, 0x01) == 3 && odd[0] == (vendor >> 8),
	      cfg_read(vfio0, odd, 3, 0x01));

	// Errnos (vfio_pci_config_rw, vfs).
	check("a_read_past_the_end_is_EFAULT", cfg_read(vfio0, &word, 2, CFG_SIZE - 1) == -EFAULT,
	      cfg_read(vfio0, &word, 2, CFG_SIZE - 1));
	check("a_read_at_the_end_is_EFAULT", cfg_read(vfio0, &word, 1, CFG_SIZE) == -EFAULT, cfg_read(vfio0, &word, 1, CFG_SIZE));
	check("a_read_of_0_bytes_is_0", cfg_read(vfio0, &word, 0, CFG_SIZE + 8) == 0, cfg_read(vfio0, &word, 0, CFG_SIZE + 8));
	check("an_unmapped_buffer_is_EFAULT", cfg_read(vfio0, (void *)8, 4, 0) == -EFAULT, cfg_read(vfio0, (void *)8, 4, 0));
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check("a_read_only_buffer_is_EFAULT", cfg_read(vfio0, ro, 4, 0) == -EFAULT, cfg_read(vfio0, ro, 4, 0));
	check("a_write_from_a_read_only_buffer_moves_it", cfg_write(vfio0, ro, 1, 0x3c) == 1, cfg_write(vfio0, ro, 1, 0x3c));
	munmap(ro, 4096);
	check("region_0_through_pread_is_EINVAL", pread(vfio0, &word, 4, 0) < 0 && errno == EINVAL, -errno);
	check("dev_iommu_has_no_pread_EINVAL", pread(iommu, &word, 4, 0) < 0 && errno == EINVAL, -errno);
	check("a_negative_offset_is_EINVAL", pread(vfio0, &word, 4, -1) < 0 && errno == EINVAL, -errno);

	close(vfio1);
	close(vfio0);
	close(iommu);
	printf("%s\n", failures ? "config: FAILED" : "config: all passed");
	return failures ? 1 : 0;
}
