// SPDX-License-Identifier: MIT
//
// A sample VMM in C that drives /dev/iommu through real system calls only (open, ioctl, mmap, poll, read,
// close). Run it under the emulation with:  samples/native/run samples/native/build/iommufd-sample-vmm
// Each step prints what it did; the exit status is 0 when every step gave the result Linux gives.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
	check("IOMMU_IOAS_MAP of unmapped memory", ioctl(fd, IOMMU_IOAS_MAP, &bad), EFAULT, NULL);
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
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = 999 };
	check("IOMMU_DESTROY of an unknown id", ioctl(fd, IOMMU_DESTROY, &destroy), ENOENT, NULL);
	destroy.id = alloc.out_ioas_id;
	check("IOMMU_DESTROY of a mapped IOAS", ioctl(fd, IOMMU_DESTROY, &destroy), 0, NULL);

	check("close /dev/iommu", close(fd), 0, NULL);
	printf("%s: %d step(s) failed\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
