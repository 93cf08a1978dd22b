// SPDX-License-Identifier: MIT
//
// fork() and exec() under the emulation: what a test harness (the kernel's kselftest harness forks a child per
// test) and a VMM that spawns helpers do. Each step prints ok/FAIL; the exit status is 0 when all passed.
//   1. a child forked before anything was opened opens /dev/iommu and uses it;
//   2. after the parent opened /dev/iommu, a child that execs runs normally;
//   3. a child that does not exec gets a fresh emulation of its own when it opens /dev/iommu;
//   4. an emulated fd the child inherited answers ENODEV (its objects stayed with the parent) and closes cleanly;
//   5. the parent's file is untouched by all of that.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iommufd-uapi.h"

static int failures;

static void check(const char *step, int ok, const char *detail)
{
	if (!ok)
		failures++;
	printf("%-4s %-60s %s\n", ok ? "ok" : "FAIL", step, detail ? detail : "");
	fflush(stdout);
}

// In a child: opens /dev/iommu and allocates an IOAS; the exit status says how it went.
static int child_uses_iommu(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return 10 + errno % 100;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc) != 0 || alloc.out_ioas_id != 1)
		return 2;
	return close(fd) == 0 ? 0 : 3;
}

static int wait_child(pid_t pid)
{
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void)
{
	char detail[96];
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_uses_iommu());
	int status = wait_child(pid);
	snprintf(detail, sizeof(detail), "child exit %d", status);
	check("a child forked before any open uses /dev/iommu", status == 0, detail);

	int fd = open("/dev/iommu", O_RDWR);
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	check("the parent opens /dev/iommu and allocates an IOAS",
	      fd >= 0 && ioctl(fd, IOMMU_IOAS_ALLOC, &alloc) == 0, NULL);

	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(99);
	}
	status = wait_child(pid);
	snprintf(detail, sizeof(detail), "child exit %d", status);
	check("a child that execs after the parent opened runs normally", status == 7, detail);

	pid = fork();
	if (pid == 0)
		_exit(child_uses_iommu());
	status = wait_child(pid);
	snprintf(detail, sizeof(detail), "child exit %d", status);
	check("a child (no exec) gets a fresh emulation of its own", status == 0, detail);

	pid = fork();
	if (pid == 0) {
		struct iommu_ioas_alloc again = { .size = sizeof(again) };
		int rc = ioctl(fd, IOMMU_IOAS_ALLOC, &again);
		int err = errno;
		int closed = close(fd);
		_exit(rc == -1 && err == ENODEV && closed == 0 ? 0 : 1);
	}
	status = wait_child(pid);
	snprintf(detail, sizeof(detail), "child exit %d", status);
	check("an inherited emulated fd is ENODEV in the child and closes", status == 0, detail);

	struct iommu_destroy destroy = { .size = sizeof(destroy), .id = alloc.out_ioas_id };
	check("the parent's IOAS is still there after all the children",
	      ioctl(fd, IOMMU_DESTROY, &destroy) == 0, NULL);
	check("close /dev/iommu", close(fd) == 0, NULL);
	printf("%s: %d step(s) failed\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
