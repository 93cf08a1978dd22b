// SPDX-License-Identifier: MIT
//
// A fixed run of ioctls whose structs hold no user pointers, each printed with the bytes it passed and the bytes
// and result it got back, so that a test can replay the same bytes through the C# raw entry point and compare
// (Iommufd.Tests/Native/AbiTraceTests.cs). Output lines:
//   FD iommu <fd>
//   CALL <node> <request> <bytes in> -> <rc> <errno> <bytes out>
// with bytes as hex; <node> is "iommu" or the device node's name ("vfio0").

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "iommufd-uapi.h"

static void hex(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const unsigned char *)p)[i]);
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
