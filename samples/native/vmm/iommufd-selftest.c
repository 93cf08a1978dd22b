// SPDX-License-Identifier: MIT
//
// A selftest in the style of the kernel's (tools/testing/selftests/iommu/iommufd.c and the kselftest harness):
// every test runs in a fork()ed child that opens /dev/iommu itself, and the parent prints TAP lines
// ("ok N name" / "not ok N name") and a "# PASSED: x / y" total. It drives the selftest's mock IOMMU through
// IOMMU_TEST_CMD, so the platform must have one: run it with IOMMUFD_PLATFORM naming a file with
// { "iommus": [ { "name": "mock0", "type": "mock" } ] } (the test suite writes one). This is this project's own
// test, not the upstream one; the README says what the upstream selftest needs beyond it.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iommufd-uapi.h"

// drivers/iommu/iommufd/iommufd_test.h: not a UAPI header, so its layout is written out here.
#define IOMMU_TEST_CMD IOMMUFD_REQUEST(0xa0)
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
};
#define MOCK_APERTURE_START (1ull << 24)
#define MOCK_ACCESS_RW_WRITE (1u << 0)

struct iommu_test_cmd {
	uint32_t size;
	uint32_t op;
	uint32_t id;
	uint32_t __reserved;
	union {
		struct { uint64_t start, length; } add_reserved;
		struct { uint32_t out_stdev_id, out_hwpt_id, out_idev_id; } mock_domain;
		struct { uint64_t iova, length, uptr; } check_map;
		struct { uint64_t length, uptr; uint32_t refs; } check_refs;
		struct { uint32_t out_access_fd, flags; } create_access;
		struct { uint64_t iova, length, uptr; uint32_t flags; } access_rw;
		uint8_t pad[48];
	};
	uint32_t last;
};

#define PAGE 4096ul
#define BUFFER_SIZE (4 * PAGE)

// The fixture every test gets: its own /dev/iommu, an IOAS and a buffer with a pattern.
struct fixture {
	int fd;
	uint32_t ioas_id;
	unsigned char *buffer;
};

#define CHECK(cond)                                                                                      \
	do {                                                                                             \
		if (!(cond)) {                                                                           \
			fprintf(stderr, "#   %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			return 1;                                                                        \
		}                                                                                        \
	} while (0)

static int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(fd, IOMMU_TEST_CMD, cmd);
}

static int ioas_map(struct fixture *f, void *va, size_t length, uint64_t iova)
{
	struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = f->ioas_id, .user_va = (uintptr_t)va,
				      .length = length, .iova = iova,
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE };
	return ioctl(f->fd, IOMMU_IOAS_MAP, &map);
}

static int ioas_unmap(struct fixture *f, uint64_t iova, uint64_t length)
{
	struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = f->ioas_id, .iova = iova, .length = length };
	return ioctl(f->fd, IOMMU_IOAS_UNMAP, &unmap);
}

static int mock_domain(struct fixture *f, uint32_t *hwpt_id, uint32_t *stdev_id)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = f->ioas_id };
	int rc = test_cmd(f->fd, &cmd);
	*hwpt_id = cmd.mock_domain.out_hwpt_id;
	if (stdev_id)
		*stdev_id = cmd.mock_domain.out_stdev_id;
	return rc;
}

static int check_map(struct fixture *f, uint32_t hwpt_id, uint64_t iova, size_t length, void *uptr)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt_id,
				      .check_map = { iova, length, (uintptr_t)uptr } };
	return test_cmd(f->fd, &cmd);
}

static int check_refs(struct fixture *f, void *uptr, size_t length, uint32_t refs)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MD_CHECK_REFS,
				      .check_refs = { length, (uintptr_t)uptr, refs } };
	return test_cmd(f->fd, &cmd);
}

static int test_ioas_alloc_and_destroy(struct fixture *f)
{
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = f->ioas_id };
	CHECK(ioctl(f->fd, IOMMU_DESTROY, &destroy) == 0);
	CHECK(ioctl(f->fd, IOMMU_DESTROY, &destroy) == -1 && errno == ENOENT);
	return 0;
}

static int test_mock_domain_maps_what_the_ioas_maps(struct fixture *f)
{
	uint32_t hwpt_id;
	CHECK(mock_domain(f, &hwpt_id, NULL) == 0);
	CHECK(hwpt_id != 0);
	CHECK(ioas_map(f, f->buffer, BUFFER_SIZE, MOCK_APERTURE_START) == 0);
	CHECK(check_map(f, hwpt_id, MOCK_APERTURE_START, BUFFER_SIZE, f->buffer) == 0);
	CHECK(check_refs(f, f->buffer, BUFFER_SIZE, 1) == 0);
	CHECK(ioas_unmap(f, MOCK_APERTURE_START, BUFFER_SIZE) == 0);
	CHECK(check_map(f, hwpt_id, MOCK_APERTURE_START, BUFFER_SIZE, f->buffer) == -1 && errno == EINVAL);
	CHECK(check_refs(f, f->buffer, BUFFER_SIZE, 0) == 0);
	return 0;
}

static int test_a_second_mock_device_shares_the_domain_and_its_mappings(struct fixture *f)
{
	uint32_t first, second;
	CHECK(mock_domain(f, &first, NULL) == 0);
	CHECK(ioas_map(f, f->buffer, BUFFER_SIZE, MOCK_APERTURE_START) == 0);
	CHECK(mock_domain(f, &second, NULL) == 0);
	CHECK(second == first); // iommufd_device_auto_get_domain() reuses a compatible domain of the IOAS
	CHECK(check_map(f, second, MOCK_APERTURE_START, BUFFER_SIZE, f->buffer) == 0);
	CHECK(check_refs(f, f->buffer, BUFFER_SIZE, 1) == 0); // one pin, shared by both domains
	return 0;
}

static int test_an_ioas_with_a_device_is_busy_until_the_device_goes(struct fixture *f)
{
	uint32_t hwpt_id, stdev_id;
	CHECK(mock_domain(f, &hwpt_id, &stdev_id) == 0);
	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = f->ioas_id };
	CHECK(ioctl(f->fd, IOMMU_DESTROY, &destroy) == -1 && errno == EBUSY);
	struct iommu_destroy stdev = { .size = sizeof(stdev), .id = stdev_id };
	CHECK(ioctl(f->fd, IOMMU_DESTROY, &stdev) == 0);
	CHECK(ioctl(f->fd, IOMMU_DESTROY, &destroy) == 0);
	return 0;
}

static int test_check_map_of_unmapped_user_memory_is_EFAULT(struct fixture *f)
{
	uint32_t hwpt_id;
	CHECK(mock_domain(f, &hwpt_id, NULL) == 0);
	CHECK(check_map(f, hwpt_id, MOCK_APERTURE_START, PAGE, (void *)PAGE) == -1 && errno == EFAULT);
	CHECK(check_map(f, hwpt_id, MOCK_APERTURE_START + 1, PAGE, f->buffer) == -1 && errno == EINVAL);
	return 0;
}

static int test_access_reads_and_writes_through_the_ioas(struct fixture *f)
{
	struct iommu_test_cmd create = { .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = f->ioas_id };
	CHECK(test_cmd(f->fd, &create) == 0);
	int access_fd = (int)create.create_access.out_access_fd;
	CHECK(access_fd > 2);
	CHECK(ioas_map(f, f->buffer, BUFFER_SIZE, MOCK_APERTURE_START) == 0);

	unsigned char got[64] = { 0 };
	struct iommu_test_cmd rw = { .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
				     .access_rw = { MOCK_APERTURE_START + PAGE + 8, sizeof(got), (uintptr_t)got, 0 } };
	CHECK(test_cmd(f->fd, &rw) == 0);
	CHECK(memcmp(got, f->buffer + PAGE + 8, sizeof(got)) == 0);

	memset(got, 0xee, sizeof(got));
	rw.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	CHECK(test_cmd(f->fd, &rw) == 0);
	CHECK(f->buffer[PAGE + 8] == 0xee && f->buffer[PAGE + 8 + sizeof(got) - 1] == 0xee);

	rw.access_rw.uptr = PAGE; // unmapped
	CHECK(test_cmd(f->fd, &rw) == -1 && errno == EFAULT);
	CHECK(close(access_fd) == 0);
	rw.access_rw.uptr = (uintptr_t)got;
	CHECK(test_cmd(f->fd, &rw) == -1);
	return 0;
}

// IOMMU_IOAS_MAP_FILE of a real memfd (io_pagetable.c iopt_map_file_pages()): an access reads what was written to
// the file and the file holds what the access wrote, after the program closed its fd; a bad fd is EBADF, and a range
// past the end of the file is EINVAL once a domain pins it (pages.c pin_memfd_pages()).
static int test_map_file_shares_the_memfd_s_pages(struct fixture *f)
{
	int memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	CHECK(memfd >= 0 && ftruncate(memfd, 2 * PAGE) == 0);
	CHECK(pwrite(memfd, f->buffer, 64, PAGE + 8) == 64);
	struct iommu_ioas_map_file map = { .size = sizeof(map), .ioas_id = f->ioas_id, .fd = 1 << 20, .start = PAGE,
					   .length = PAGE, .iova = MOCK_APERTURE_START,
					   .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE };
	CHECK(ioctl(f->fd, IOMMU_IOAS_MAP_FILE, &map) == -1 && errno == EBADF);
	map.fd = memfd;
	CHECK(ioctl(f->fd, IOMMU_IOAS_MAP_FILE, &map) == 0);
	int reader = dup(memfd);
	CHECK(reader >= 0 && close(memfd) == 0); // the IOAS keeps its own reference to the file

	struct iommu_test_cmd create = { .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = f->ioas_id };
	CHECK(test_cmd(f->fd, &create) == 0);
	int access_fd = (int)create.create_access.out_access_fd;
	unsigned char got[64] = { 0 };
	struct iommu_test_cmd rw = { .op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)access_fd,
				     .access_rw = { MOCK_APERTURE_START + 8, sizeof(got), (uintptr_t)got, 0 } };
	CHECK(test_cmd(f->fd, &rw) == 0);
	CHECK(memcmp(got, f->buffer, sizeof(got)) == 0);
	memset(got, 0xee, sizeof(got));
	rw.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	CHECK(test_cmd(f->fd, &rw) == 0);
	unsigned char back[64] = { 0 };
	CHECK(pread(reader, back, sizeof(back), PAGE + 8) == (ssize_t)sizeof(back));
	CHECK(memcmp(back, got, sizeof(back)) == 0);
	CHECK(close(access_fd) == 0 && close(reader) == 0);

	int empty = memfd_create("past-the-end", MFD_CLOEXEC);
	map.fd = empty;
	map.iova = MOCK_APERTURE_START + 16 * PAGE;
	CHECK(ioctl(f->fd, IOMMU_IOAS_MAP_FILE, &map) == 0); // no domain yet: only a lazy reference
	uint32_t hwpt_id, stdev_id;
	CHECK(mock_domain(f, &hwpt_id, &stdev_id) == -1 && errno == EINVAL);
	CHECK(ftruncate(empty, 2 * PAGE) == 0 && close(empty) == 0);
	CHECK(mock_domain(f, &hwpt_id, &stdev_id) == 0);
	return 0;
}

static int test_a_reserved_range_is_cut_from_the_iova_ranges(struct fixture *f)
{
	struct iommu_test_cmd reserve = { .op = IOMMU_TEST_OP_ADD_RESERVED, .id = f->ioas_id,
					  .add_reserved = { MOCK_APERTURE_START, PAGE } };
	CHECK(test_cmd(f->fd, &reserve) == 0);
	CHECK(ioas_map(f, f->buffer, PAGE, MOCK_APERTURE_START) == -1 && errno == EINVAL);
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges get = { .size = sizeof(get), .ioas_id = f->ioas_id, .num_iovas = 4,
					      .allowed_iovas = (uintptr_t)ranges };
	CHECK(ioctl(f->fd, IOMMU_IOAS_IOVA_RANGES, &get) == 0);
	CHECK(get.num_iovas == 2);
	CHECK(ranges[0].start == 0 && ranges[0].last == MOCK_APERTURE_START - 1);
	CHECK(ranges[1].start == MOCK_APERTURE_START + PAGE);
	return 0;
}

static int test_an_unknown_op_is_EOPNOTSUPP(struct fixture *f)
{
	struct iommu_test_cmd cmd = { .op = 0x7fff, .id = f->ioas_id };
	CHECK(test_cmd(f->fd, &cmd) == -1 && errno == EOPNOTSUPP);
	return 0;
}

struct test {
	const char *name;
	int (*run)(struct fixture *);
};

#define T(fn) { #fn + 5, fn }
static const struct test tests[] = {
	T(test_ioas_alloc_and_destroy),
	T(test_mock_domain_maps_what_the_ioas_maps),
	T(test_a_second_mock_device_shares_the_domain_and_its_mappings),
	T(test_an_ioas_with_a_device_is_busy_until_the_device_goes),
	T(test_check_map_of_unmapped_user_memory_is_EFAULT),
	T(test_access_reads_and_writes_through_the_ioas),
	T(test_map_file_shares_the_memfd_s_pages),
	T(test_a_reserved_range_is_cut_from_the_iova_ranges),
	T(test_an_unknown_op_is_EOPNOTSUPP),
};

// The child's side: a fresh /dev/iommu (the emulation loads in the child, as a forked kselftest does).
static int run_child(const struct test *t)
{
	struct fixture f = { .fd = open("/dev/iommu", O_RDWR) };
	if (f.fd < 0) {
		perror("# open /dev/iommu");
		return 1;
	}
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(f.fd, IOMMU_IOAS_ALLOC, &alloc) != 0)
		return 1;
	f.ioas_id = alloc.out_ioas_id;
	f.buffer = mmap(NULL, BUFFER_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.buffer == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < BUFFER_SIZE; i++)
		f.buffer[i] = (unsigned char)(i * 7 + 3);
	int rc = t->run(&f);
	if (close(f.fd) != 0)
		rc = 1;
	return rc;
}

int main(void)
{
	int n = (int)(sizeof(tests) / sizeof(tests[0])), passed = 0;
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(run_child(&tests[i]));
		int status = 0;
		int ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		passed += ok;
		printf("%s %d %s\n", ok ? "ok" : "not ok", i + 1, tests[i].name);
		fflush(stdout);
	}
	printf("# PASSED: %d / %d\n", passed, n);
	return passed == n ? 0 : 1;
}
