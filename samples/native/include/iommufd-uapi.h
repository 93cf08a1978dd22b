/* SPDX-License-Identifier: MIT */
/*
 * The iommufd and VFIO-cdev user API as this project emulates it: request numbers, struct layouts and flag
 * values of Linux (include/uapi/linux/iommufd.h and include/uapi/linux/vfio.h), written out here because the
 * distribution's kernel headers on the build machine predate iommufd. Only what a VMM needs is declared.
 * Every struct starts with its size in bytes (the kernel's extensible-struct rule); fields are little-endian.
 */
#ifndef IOMMUFD_EMU_UAPI_H
#define IOMMUFD_EMU_UAPI_H

#include <stdint.h>
#include <sys/ioctl.h>

/* ---- /dev/iommu: _IO(';', 0x80 + n) ------------------------------------------------------------------ */
#define IOMMUFD_IOCTL_TYPE 0x3b
#define IOMMUFD_REQUEST(nr) _IO(IOMMUFD_IOCTL_TYPE, (nr))

#define IOMMU_DESTROY              IOMMUFD_REQUEST(0x80)
#define IOMMU_IOAS_ALLOC           IOMMUFD_REQUEST(0x81)
#define IOMMU_IOAS_ALLOW_IOVAS     IOMMUFD_REQUEST(0x82)
#define IOMMU_IOAS_COPY            IOMMUFD_REQUEST(0x83)
#define IOMMU_IOAS_IOVA_RANGES     IOMMUFD_REQUEST(0x84)
#define IOMMU_IOAS_MAP             IOMMUFD_REQUEST(0x85)
#define IOMMU_IOAS_UNMAP           IOMMUFD_REQUEST(0x86)
#define IOMMU_OPTION               IOMMUFD_REQUEST(0x87)
#define IOMMU_VFIO_IOAS            IOMMUFD_REQUEST(0x88)
#define IOMMU_HWPT_ALLOC           IOMMUFD_REQUEST(0x89)
#define IOMMU_GET_HW_INFO          IOMMUFD_REQUEST(0x8a)
#define IOMMU_HWPT_SET_DIRTY_TRACKING IOMMUFD_REQUEST(0x8b)
#define IOMMU_HWPT_GET_DIRTY_BITMAP IOMMUFD_REQUEST(0x8c)
#define IOMMU_HWPT_INVALIDATE      IOMMUFD_REQUEST(0x8d)
#define IOMMU_FAULT_QUEUE_ALLOC    IOMMUFD_REQUEST(0x8e)
#define IOMMU_IOAS_MAP_FILE        IOMMUFD_REQUEST(0x8f)
#define IOMMU_VIOMMU_ALLOC         IOMMUFD_REQUEST(0x90)
#define IOMMU_VDEVICE_ALLOC        IOMMUFD_REQUEST(0x91)
#define IOMMU_IOAS_CHANGE_PROCESS  IOMMUFD_REQUEST(0x92)
#define IOMMU_VEVENTQ_ALLOC        IOMMUFD_REQUEST(0x93)
#define IOMMU_HW_QUEUE_ALLOC       IOMMUFD_REQUEST(0x94)

struct iommu_destroy {
	uint32_t size;
	uint32_t id;
};

struct iommu_ioas_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t out_ioas_id;
};

struct iommu_iova_range {
	uint64_t start;
	uint64_t last;
};

struct iommu_ioas_iova_ranges {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t __reserved;
	uint64_t allowed_iovas; /* user pointer to struct iommu_iova_range[num_iovas] */
	uint64_t out_iova_alignment;
};

struct iommu_ioas_allow_iovas {
	uint32_t size;
	uint32_t ioas_id;
	uint32_t num_iovas;
	uint32_t __reserved;
	uint64_t allowed_iovas; /* user pointer to struct iommu_iova_range[num_iovas] */
};

/* IOMMU_IOAS_MAP flags */
#define IOMMU_IOAS_MAP_FIXED_IOVA (1u << 0)
#define IOMMU_IOAS_MAP_WRITEABLE  (1u << 1)
#define IOMMU_IOAS_MAP_READABLE   (1u << 2)

struct iommu_ioas_map {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	uint32_t __reserved;
	uint64_t user_va;
	uint64_t length;
	uint64_t iova;
};

struct iommu_ioas_map_file {
	uint32_t size;
	uint32_t flags;
	uint32_t ioas_id;
	int32_t fd;
	uint64_t start;
	uint64_t length;
	uint64_t iova;
};

struct iommu_ioas_unmap {
	uint32_t size;
	uint32_t ioas_id;
	uint64_t iova;
	uint64_t length;
};

/* IOMMU_HWPT_ALLOC flags and data types */
#define IOMMU_HWPT_ALLOC_NEST_PARENT    (1u << 0)
#define IOMMU_HWPT_ALLOC_DIRTY_TRACKING (1u << 1)
#define IOMMU_HWPT_FAULT_ID_VALID       (1u << 2)
#define IOMMU_HWPT_ALLOC_PASID          (1u << 3)

#define IOMMU_HWPT_DATA_NONE      0
#define IOMMU_HWPT_DATA_VTD_S1    1
#define IOMMU_HWPT_DATA_ARM_SMMUV3 2

struct iommu_hwpt_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t pt_id;
	uint32_t out_hwpt_id;
	uint32_t __reserved;
	uint32_t data_type;
	uint32_t data_len;
	uint64_t data_uptr;
	uint32_t fault_id;
	uint32_t __reserved2;
};

/* Nested HWPT data for an SMMUv3: the guest's two STE words that matter (IHI 0070 5.2). */
struct iommu_hwpt_arm_smmuv3 {
	uint64_t ste[2];
};

/* IOMMU_GET_HW_INFO */
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1u << 0)
#define IOMMU_HW_INFO_TYPE_DEFAULT        0
#define IOMMU_HW_INFO_TYPE_INTEL_VTD      1
#define IOMMU_HW_INFO_TYPE_ARM_SMMUV3     2
#define IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV 3

struct iommu_hw_info {
	uint32_t size;
	uint32_t flags;
	uint32_t dev_id;
	uint32_t data_len;
	uint64_t data_uptr;
	uint32_t out_data_type;
	uint8_t out_max_pasid_log2;
	uint8_t __reserved[3];
	uint64_t out_capabilities;
};

struct iommu_hw_info_arm_smmuv3 {
	uint32_t flags;
	uint32_t __reserved;
	uint32_t idr[6];
	uint32_t iidr;
	uint32_t aidr;
};

/* IOMMU_HWPT_INVALIDATE */
#define IOMMU_HWPT_INVALIDATE_DATA_VTD_S1          0
#define IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3    1

struct iommu_hwpt_invalidate {
	uint32_t size;
	uint32_t hwpt_id;
	uint64_t data_uptr;
	uint32_t data_type;
	uint32_t entry_len;
	uint32_t entry_num;
	uint32_t __reserved;
};

/* One raw SMMUv3 command (IHI 0070 4.1): two little-endian 64-bit words. */
struct iommu_viommu_arm_smmuv3_invalidate {
	uint64_t cmd[2];
};

/* IOMMU_VIOMMU_ALLOC */
#define IOMMU_VIOMMU_TYPE_DEFAULT        0
#define IOMMU_VIOMMU_TYPE_ARM_SMMUV3     1
#define IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV 2

struct iommu_viommu_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t type;
	uint32_t dev_id;
	uint32_t hwpt_id;
	uint32_t out_viommu_id;
	uint32_t data_len;
	uint32_t __reserved;
	uint64_t data_uptr;
};

/* Output of a TEGRA241_CMDQV vIOMMU: where to mmap() its VINTF page on the iommufd. */
struct iommu_viommu_tegra241_cmdqv {
	uint64_t out_vintf_mmap_offset;
	uint64_t out_vintf_mmap_length;
};

struct iommu_vdevice_alloc {
	uint32_t size;
	uint32_t viommu_id;
	uint32_t dev_id;
	uint32_t out_vdevice_id;
	uint64_t virt_id; /* the StreamID the guest uses for the device */
};

/* IOMMU_VEVENTQ_ALLOC */
#define IOMMU_VEVENTQ_TYPE_DEFAULT        0
#define IOMMU_VEVENTQ_TYPE_ARM_SMMUV3     1
#define IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV 2

struct iommu_veventq_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t viommu_id;
	uint32_t type;
	uint32_t veventq_depth;
	uint32_t out_veventq_id;
	uint32_t out_veventq_fd;
	uint32_t __reserved;
};

/* Each record read() from a vEVENTQ fd: this header, then the type's payload. */
#define IOMMU_VEVENTQ_FLAG_LOST_EVENTS (1u << 0)
struct iommufd_vevent_header {
	uint32_t flags;
	uint32_t sequence;
};

struct iommu_vevent_arm_smmuv3 {
	uint64_t evt[4];
};

struct iommu_vevent_tegra241_cmdqv {
	uint64_t lvcmdq_err_map[2];
};

/* IOMMU_HW_QUEUE_ALLOC */
#define IOMMU_HW_QUEUE_TYPE_DEFAULT        0
#define IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV 1

struct iommu_hw_queue_alloc {
	uint32_t size;
	uint32_t flags;
	uint32_t viommu_id;
	uint32_t type;
	uint32_t index;
	uint32_t out_hw_queue_id;
	uint64_t nesting_parent_iova;
	uint64_t length;
};

/* ---- VFIO device cdev: /dev/vfio/devices/vfioN (the same ioctl magic ';', commands from VFIO_BASE 100) ---- */
#define VFIO_TYPE 0x3b
#define VFIO_BASE 100
#define VFIO_REQUEST(nr) _IO(VFIO_TYPE, VFIO_BASE + (nr))

#define VFIO_DEVICE_GET_INFO          VFIO_REQUEST(7)
#define VFIO_DEVICE_GET_REGION_INFO   VFIO_REQUEST(8)
#define VFIO_DEVICE_BIND_IOMMUFD      VFIO_REQUEST(18)
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT VFIO_REQUEST(19)
#define VFIO_DEVICE_DETACH_IOMMUFD_PT VFIO_REQUEST(20)

/* Every VFIO struct starts with argsz, the size the caller provides. */
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1u << 0)
struct vfio_device_bind_iommufd {
	uint32_t argsz;
	uint32_t flags;
	int32_t iommufd;        /* the /dev/iommu fd */
	uint32_t out_devid;     /* the device's dev_id in that iommufd */
	uint64_t token_uuid_ptr; /* with VFIO_DEVICE_BIND_FLAG_TOKEN only */
};

#define VFIO_DEVICE_ATTACH_PASID (1u << 0)
struct vfio_device_attach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pt_id; /* in: an IOAS or HWPT; out: the HWPT attached */
	uint32_t pasid;
};

#define VFIO_DEVICE_DETACH_PASID (1u << 0)
struct vfio_device_detach_iommufd_pt {
	uint32_t argsz;
	uint32_t flags;
	uint32_t pasid;
};

#define VFIO_DEVICE_FLAGS_RESET (1u << 0)
#define VFIO_DEVICE_FLAGS_PCI   (1u << 1)
#define VFIO_DEVICE_FLAGS_CAPS  (1u << 7)
struct vfio_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
	uint32_t cap_offset;
	uint32_t pad;
};

#define VFIO_REGION_INFO_FLAG_READ  (1u << 0)
#define VFIO_REGION_INFO_FLAG_WRITE (1u << 1)
#define VFIO_REGION_INFO_FLAG_MMAP  (1u << 2)
#define VFIO_REGION_INFO_FLAG_CAPS  (1u << 3)
struct vfio_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset; /* where the region starts on the device fd */
};

/* vfio-pci region indexes; region i starts at offset i << VFIO_PCI_OFFSET_SHIFT of the device fd. */
#define VFIO_PCI_BAR0_REGION_INDEX   0
#define VFIO_PCI_ROM_REGION_INDEX    6
#define VFIO_PCI_CONFIG_REGION_INDEX 7
#define VFIO_PCI_VGA_REGION_INDEX    8
#define VFIO_PCI_NUM_REGIONS         9
#define VFIO_PCI_OFFSET_SHIFT        40

#endif
