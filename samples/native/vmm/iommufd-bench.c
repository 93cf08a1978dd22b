// SPDX-License-Identifier: MIT
//
// The per-call cost of a native ioctl(IOMMU_HWPT_INVALIDATE) under the emulation, with 1 and with 63 raw SMMUv3
// entries (TLBI_NH_ASID), on a vIOMMU of vfio0. Not run by the tests (timings are not test assertions); run it as
//   samples/native/run samples/native/build/iommufd-bench [iterations]
// It prints, for each batch, the smallest of 5 windows' mean time per ioctl: wall-clock, and the calling thread's
// CPU time (the emulation runs inline on it), which a loaded machine distorts less.

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "iommufd-uapi.h"

static double now_ns(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int must(int rc, const char *what)
{
	if (rc < 0) {
		perror(what);
		exit(1);
	}
	return rc;
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 20000;
	int fd = must(open("/dev/iommu", O_RDWR), "open /dev/iommu");
	int vfio = must(open("/dev/vfio/devices/vfio0", O_RDWR), "open vfio0");
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	must(ioctl(fd, IOMMU_IOAS_ALLOC, &ioas), "IOAS_ALLOC");
	struct vfio_device_bind_iommufd bind = { .argsz = 16, .iommufd = fd };
	must(ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind), "BIND");
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
					   .dev_id = bind.out_devid, .pt_id = ioas.out_ioas_id };
	must(ioctl(fd, IOMMU_HWPT_ALLOC, &parent), "HWPT_ALLOC");
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = parent.out_hwpt_id };
	must(ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), "ATTACH");
	struct iommu_viommu_alloc viommu = { .size = sizeof(viommu), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
					     .dev_id = bind.out_devid, .hwpt_id = parent.out_hwpt_id };
	must(ioctl(fd, IOMMU_VIOMMU_ALLOC, &viommu), "VIOMMU_ALLOC");

	struct iommu_viommu_arm_smmuv3_invalidate cmds[63];
	for (int i = 0; i < 63; i++) {
		cmds[i].cmd[0] = 0x11 | ((uint64_t)(i + 1) << 48); // TLBI_NH_ASID, ASID i + 1
		cmds[i].cmd[1] = 0;
	}
	const uint32_t batches[] = { 1, 63 };
	for (int b = 0; b < 2; b++) {
		double best = 1e30, best_cpu = 1e30;
		for (int window = 0; window < 5; window++) {
			double start = now_ns(CLOCK_MONOTONIC), start_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
			for (long i = 0; i < iterations; i++) {
				struct iommu_hwpt_invalidate inv = {
					.size = sizeof(inv), .hwpt_id = viommu.out_viommu_id, .data_uptr = (uintptr_t)cmds,
					.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, .entry_len = sizeof(cmds[0]),
					.entry_num = batches[b],
				};
				if (ioctl(fd, IOMMU_HWPT_INVALIDATE, &inv) != 0 || inv.entry_num != batches[b]) {
					perror("HWPT_INVALIDATE");
					return 1;
				}
			}
			double mean = (now_ns(CLOCK_MONOTONIC) - start) / iterations;
			double cpu = (now_ns(CLOCK_THREAD_CPUTIME_ID) - start_cpu) / iterations;
			best = mean < best ? mean : best;
			best_cpu = cpu < best_cpu ? cpu : best_cpu;
		}
		printf("native ioctl(IOMMU_HWPT_INVALIDATE), %2u entr%s: %9.1f ns wall, %9.1f ns thread CPU per call "
		       "(best of 5 x %ld)\n", batches[b], batches[b] == 1 ? "y  " : "ies", best, best_cpu, iterations);
	}
	close(vfio);
	close(fd);
	return 0;
}
