// SPDX-License-Identifier: MIT
//
// LD_PRELOAD shim: routes open()/openat() of /dev/iommu and /dev/vfio/devices/vfioN, and ioctl(), mmap(),
// munmap(), read(), write(), pread(), pwrite(), close(), dup() and fcntl(F_DUPFD*) on the fds it hands out, to
// the emulation in libiommufd-emu.so. Every other path and fd goes straight to the C library (dlsym(RTLD_NEXT)). The emulation is loaded (dlopen) only at the first open of
// /dev/iommu, so a program that never opens it runs exactly as without the shim. A fork() child loads an
// emulation of its own at its first open (a private copy when the parent had loaded one); the emulated fds it
// inherited answer ENODEV.
//
// Each fd handed out is a real fd: /dev/iommu and a device node get an eventfd that never becomes readable, a
// vEVENTQ gets an eventfd the emulation makes readable while records are queued, so poll/epoll/select just work.
// A device bound to a /dev/iommu file holds a reference on it (as the kernel's iommufd_ctx_from_fd does), so
// that file stays open until the device fd is closed too; so does an mmap of it (as a VMA holds its file).
//
// mmap() of a region on /dev/iommu (a Tegra241 VINTF page) gives the program real shared memory; the emulation
// keeps a second view of it and polls it like a device polls its registers (samples/Iommufd.Native/
// PageMirror.cs), so plain loads and stores work. munmap() of any part of such a range unmaps all of it.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_HANDLES 4096

// FD_INHERITED: an emulated fd a fork()ed child inherited; its emulation stayed with the parent.
enum fd_kind { FD_NONE = 0, FD_IOMMU = 1, FD_EVENT = 2, FD_VFIO = 3, FD_INHERITED = 4 };

struct fd_slot {
	int kind;   // enum fd_kind
	int handle; // FD_IOMMU, FD_VFIO: the emulation's file handle; FD_EVENT: the eventfd's own number at creation
};

static struct fd_slot slots[MAX_FDS];
static int handle_refs[MAX_HANDLES];  // fds (dups included) and device bindings that refer to each file handle
static int event_refs[MAX_FDS];       // fds that refer to each event fd (indexed by its original number)
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER; // guards slots, handle_refs, event_refs
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER; // guards loading the emulation
static int loaded;                    // the emulation is loaded in this process
static int forked_from_loaded;        // this process is a fork() child of one that had loaded it

// The C library's functions.
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_ioctl)(int, unsigned long, ...);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

// The emulation's entry points (samples/Iommufd.Native/Exports.cs).
static int (*emu_init)(void (*)(int), int (*)(int), void (*)(int));
static int (*emu_open)(void);
static int (*emu_vfio_open)(int);
static int (*emu_close)(int);
static int (*emu_ioctl)(int, unsigned int, unsigned long);
static long (*emu_event_read)(int, unsigned long, unsigned long);
static long (*emu_event_write)(int, unsigned long, unsigned long);
static int (*emu_event_close)(int);
static long (*emu_rw)(int, unsigned long, unsigned long, unsigned long, int);
static long (*emu_mmap)(int, unsigned long, unsigned long, int, int);
static int (*emu_mmap_place)(long, unsigned long);
static int (*emu_munmap)(long);

// The program's mappings of emulated regions: its page, the emulation's view of the same memory, the mapping's
// id in the emulation and the /dev/iommu handle it holds open.
#define MAX_MAPS 256
struct emu_map {
	uintptr_t start;
	size_t length; // 0: a free entry
	void *alias;
	long id;
	int handle;
};
static struct emu_map maps[MAX_MAPS]; // guarded by table_lock
static int map_count;                 // live entries; read without the lock on munmap's fast path

static void resolve_libc(void)
{
	if (real_close)
		return;
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
	real_read = dlsym(RTLD_NEXT, "read");
	real_write = dlsym(RTLD_NEXT, "write");
	real_pread = dlsym(RTLD_NEXT, "pread");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_dup = dlsym(RTLD_NEXT, "dup");
	real_dup2 = dlsym(RTLD_NEXT, "dup2");
	real_dup3 = dlsym(RTLD_NEXT, "dup3");
	real_fcntl = dlsym(RTLD_NEXT, "fcntl");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_munmap = dlsym(RTLD_NEXT, "munmap");
	__atomic_store_n(&real_close, dlsym(RTLD_NEXT, "close"), __ATOMIC_RELEASE);
}

// fork(): no lock is held across it, and the child starts without an emulation (the parent's runtime threads
// did not come along). Its inherited emulated fds answer ENODEV; an open in the child loads a fresh emulation.
static void before_fork(void)
{
	pthread_mutex_lock(&load_lock);
	pthread_mutex_lock(&table_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
	pthread_mutex_unlock(&load_lock);
}

static void after_fork_child(void)
{
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (slots[fd].kind != FD_NONE)
			slots[fd].kind = FD_INHERITED;
	memset(handle_refs, 0, sizeof(handle_refs));
	memset(event_refs, 0, sizeof(event_refs));
	memset(maps, 0, sizeof(maps)); // the pages stay mapped in the child as plain shared memory
	map_count = 0;
	forked_from_loaded |= loaded;
	loaded = 0;
	pthread_mutex_unlock(&table_lock);
	pthread_mutex_unlock(&load_lock);
}

__attribute__((constructor)) static void shim_init(void)
{
	resolve_libc();
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static inline struct fd_slot *slot_of(int fd)
{
	if (fd < 0 || fd >= MAX_FDS || __atomic_load_n(&slots[fd].kind, __ATOMIC_ACQUIRE) == FD_NONE)
		return NULL;
	return &slots[fd];
}

// Called by the emulation (with no shim lock held by it) for each eventfd it creates for a queue.
static void register_event_fd(int fd)
{
	if (fd < 0 || fd >= MAX_FDS)
		return;
	pthread_mutex_lock(&table_lock);
	slots[fd].handle = fd;
	event_refs[fd] = 1;
	__atomic_store_n(&slots[fd].kind, FD_EVENT, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
}

struct pending_close {
	int kind;
	int handle;
};

static void finish_close(struct pending_close p);

// Called by the emulation while it binds a device: the /dev/iommu handle open as fd, with a reference for the
// binding; -EBADF when fd is not open, -EBADFD when it is not /dev/iommu (iommufd_ctx_from_fd, main.c).
static int get_iommufd(int fd)
{
	int handle = -EBADFD;
	pthread_mutex_lock(&table_lock);
	if (fd >= 0 && fd < MAX_FDS && slots[fd].kind == FD_IOMMU) {
		handle = slots[fd].handle;
		handle_refs[handle]++;
	}
	pthread_mutex_unlock(&table_lock);
	if (handle == -EBADFD && real_fcntl(fd, F_GETFD) < 0)
		handle = -EBADF;
	return handle;
}

// Called by the emulation when a binding ends: the last reference closes the /dev/iommu file.
static void put_iommufd(int handle)
{
	if (handle < 0 || handle >= MAX_HANDLES)
		return;
	pthread_mutex_lock(&table_lock);
	int last = --handle_refs[handle] == 0;
	pthread_mutex_unlock(&table_lock);
	if (last)
		finish_close((struct pending_close){ FD_IOMMU, handle });
}

// Copies the library at path into a memfd; *copy names it as /proc/self/fd/N (kept open for the process's life).
static int copy_library(const char *path, char *copy, size_t size)
{
	int in = real_open(path, O_RDONLY | O_CLOEXEC);
	int out = in < 0 ? -1 : memfd_create("libiommufd-emu.so", MFD_CLOEXEC);
	char buf[1 << 16];
	ssize_t n = 0;
	while (out >= 0 && (n = real_read(in, buf, sizeof(buf))) > 0)
		if (real_write(out, buf, (size_t)n) != n)
			n = -1;
	if (in >= 0)
		real_close(in);
	if (out < 0 || n < 0) {
		if (out >= 0)
			real_close(out);
		return -1;
	}
	snprintf(copy, size, "/proc/self/fd/%d", out);
	return 0;
}

// The library sits next to the shim unless IOMMUFD_EMU_LIBRARY names it.
static int load_emulation(void)
{
	int rc = 0;
	pthread_mutex_lock(&load_lock);
	if (loaded)
		goto out;
	char path[PATH_MAX];
	const char *named = getenv("IOMMUFD_EMU_LIBRARY");
	if (named && *named) {
		snprintf(path, sizeof(path), "%s", named);
	} else {
		Dl_info info;
		if (!dladdr((void *)load_emulation, &info) || !info.dli_fname) {
			rc = -ENODEV;
			goto out;
		}
		snprintf(path, sizeof(path), "%s", info.dli_fname);
		char *slash = strrchr(path, '/');
		size_t dir = slash ? (size_t)(slash - path + 1) : 0;
		snprintf(path + dir, sizeof(path) - dir, "libiommufd-emu.so");
	}
	// A fork() child of a process that had loaded the emulation still has that copy mapped, with a runtime whose
	// threads did not survive the fork: it loads a copy of its own, from a memfd (a new file to the loader).
	char copy[64];
	if (forked_from_loaded && copy_library(path, copy, sizeof(copy)) == 0)
		snprintf(path, sizeof(path), "%s", copy);
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "iommufd-shim: cannot load the emulation: %s\n", dlerror());
		rc = -ENODEV;
		goto out;
	}
	emu_init = dlsym(lib, "iommufd_emu_init");
	emu_open = dlsym(lib, "iommufd_emu_open");
	emu_vfio_open = dlsym(lib, "iommufd_emu_vfio_open");
	emu_close = dlsym(lib, "iommufd_emu_close");
	emu_ioctl = dlsym(lib, "iommufd_emu_ioctl");
	emu_event_read = dlsym(lib, "iommufd_emu_event_read");
	emu_event_write = dlsym(lib, "iommufd_emu_event_write");
	emu_event_close = dlsym(lib, "iommufd_emu_event_close");
	emu_rw = dlsym(lib, "iommufd_emu_rw");
	emu_mmap = dlsym(lib, "iommufd_emu_mmap");
	emu_mmap_place = dlsym(lib, "iommufd_emu_mmap_place");
	emu_munmap = dlsym(lib, "iommufd_emu_munmap");
	if (!emu_init || !emu_open || !emu_vfio_open || !emu_close || !emu_ioctl || !emu_event_read ||
	    !emu_event_write || !emu_event_close || !emu_rw || !emu_mmap || !emu_mmap_place || !emu_munmap) {
		fprintf(stderr, "iommufd-shim: %s lacks an entry point\n", path);
		rc = -ENODEV;
		goto out;
	}
	emu_init(register_event_fd, get_iommufd, put_iommufd);
	loaded = 1;
out:
	pthread_mutex_unlock(&load_lock);
	return rc;
}

// Which emulated node a path names: FD_IOMMU, FD_VFIO (with *index its N), or FD_NONE.
static int emulated_node(const char *path, int *index)
{
	static const char vfio[] = "/dev/vfio/devices/vfio";
	if (!path)
		return FD_NONE;
	if (strcmp(path, "/dev/iommu") == 0)
		return FD_IOMMU;
	if (strncmp(path, vfio, sizeof(vfio) - 1) != 0)
		return FD_NONE;
	const char *n = path + sizeof(vfio) - 1;
	// The kernel names the nodes vfio0, vfio1, ...: decimal, no leading zero.
	if (*n < '0' || *n > '9' || (n[0] == '0' && n[1] != '\0') || strlen(n) > 6)
		return FD_NONE;
	for (const char *c = n; *c; c++)
		if (*c < '0' || *c > '9')
			return FD_NONE;
	*index = atoi(n);
	return FD_VFIO;
}

// Opens an emulated node; returns -2 (with errno unchanged) when the emulation has no such device, so that the
// C library answers for the path.
static int open_emulated(int kind, int index, int flags)
{
	int rc = load_emulation();
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	int handle = kind == FD_IOMMU ? emu_open() : emu_vfio_open(index);
	if (handle == -ENOENT && kind == FD_VFIO)
		return -2;
	int fd = handle < 0 ? -1 : eventfd(0, (flags & O_CLOEXEC) ? EFD_CLOEXEC : 0);
	if (handle >= 0 && (fd < 0 || fd >= MAX_FDS)) {
		int err = fd < 0 ? errno : EMFILE;
		if (fd >= 0)
			real_close(fd);
		emu_close(handle);
		errno = err;
		return -1;
	}
	if (handle < 0 || handle >= MAX_HANDLES) {
		if (handle >= 0)
			emu_close(handle);
		real_close(fd);
		errno = handle < 0 ? -handle : EMFILE;
		return -1;
	}
	pthread_mutex_lock(&table_lock);
	handle_refs[handle] = 1;
	slots[fd].handle = handle;
	__atomic_store_n(&slots[fd].kind, kind, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int open(const char *path, int flags, ...)
{
	resolve_libc();
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	int index = 0, kind = emulated_node(path, &index);
	if (kind != FD_NONE) {
		int fd = open_emulated(kind, index, flags);
		if (fd != -2)
			return fd;
	}
	return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	resolve_libc();
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	int index = 0, kind = emulated_node(path, &index);
	if (kind != FD_NONE) {
		int fd = open_emulated(kind, index, flags);
		if (fd != -2)
			return fd;
	}
	return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

// _FORTIFY_SOURCE builds call these instead of open()/openat().
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open(path, flags); }
int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }

// A call on an fd this fork() child inherited: its emulation (its objects) stayed with the parent.
static int inherited(int fd)
{
	static int told;
	if (!__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
		fprintf(stderr, "iommufd-shim: fd %d was opened before fork(); its emulation stayed with the parent\n", fd);
	errno = ENODEV;
	return -1;
}

static int syscall_result(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return (int)rc;
}

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	struct fd_slot *s = slot_of(fd);
	if (s && (s->kind == FD_IOMMU || s->kind == FD_VFIO))
		return syscall_result(emu_ioctl(s->handle, (unsigned int)request, arg));
	if (s && s->kind == FD_INHERITED)
		return inherited(fd);
	if (s) {
		errno = ENOTTY; // a vEVENTQ fd has no ioctls
		return -1;
	}
	resolve_libc();
	return real_ioctl(fd, request, arg);
}

ssize_t read(int fd, void *buf, size_t count)
{
	struct fd_slot *s = slot_of(fd);
	if (s && s->kind == FD_EVENT)
		return syscall_result(emu_event_read(s->handle, (unsigned long)buf, count));
	if (s && s->kind == FD_INHERITED)
		return inherited(fd);
	if (s) {
		errno = EINVAL; // /dev/iommu has no read op; a device's regions are read with pread
		return -1;
	}
	resolve_libc();
	return real_read(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	struct fd_slot *s = slot_of(fd);
	if (s && s->kind == FD_EVENT)
		return syscall_result(emu_event_write(s->handle, (unsigned long)buf, count));
	if (s && s->kind == FD_INHERITED)
		return inherited(fd);
	if (s) {
		errno = EINVAL; // /dev/iommu has no write op; a device's regions are written with pwrite
		return -1;
	}
	resolve_libc();
	return real_write(fd, buf, count);
}

// pread/pwrite at a device fd's region offset (index << 40): its config space. /dev/iommu has no read or write
// op (EINVAL); a vEVENTQ file is not seekable (ESPIPE).
static ssize_t rw_emulated(struct fd_slot *s, int fd, void *buf, size_t count, off_t offset, int write)
{
	if (s->kind == FD_INHERITED)
		return inherited(fd);
	errno = s->kind == FD_EVENT ? ESPIPE : EINVAL;
	if (s->kind != FD_VFIO || offset < 0)
		return -1;
	return syscall_result(emu_rw(s->handle, (unsigned long)offset, (unsigned long)buf, count, write));
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
	struct fd_slot *s = slot_of(fd);
	if (s)
		return rw_emulated(s, fd, buf, count, offset, 0);
	resolve_libc();
	return real_pread(fd, buf, count, offset);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t offset) __attribute__((alias("pread")));

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	struct fd_slot *s = slot_of(fd);
	if (s)
		return rw_emulated(s, fd, (void *)buf, count, offset, 1);
	resolve_libc();
	return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) __attribute__((alias("pwrite")));

// Drops fd's reference on its emulated file; the last reference closes it. Call with table_lock held; returns
// the close to make once the lock is released.
static int *refs_of(struct fd_slot s) { return s.kind == FD_EVENT ? &event_refs[s.handle] : &handle_refs[s.handle]; }

static struct pending_close forget_locked(int fd)
{
	struct pending_close p = { FD_NONE, -1 };
	if (fd < 0 || fd >= MAX_FDS || slots[fd].kind == FD_NONE)
		return p;
	struct fd_slot s = slots[fd];
	__atomic_store_n(&slots[fd].kind, FD_NONE, __ATOMIC_RELEASE);
	if (s.kind != FD_INHERITED && --*refs_of(s) == 0) {
		p.kind = s.kind;
		p.handle = s.handle;
	}
	return p;
}

static void finish_close(struct pending_close p)
{
	if (p.kind == FD_IOMMU || p.kind == FD_VFIO)
		emu_close(p.handle); // a device file's close may in turn drop its binding's reference (put_iommufd)
	else if (p.kind == FD_EVENT)
		emu_event_close(p.handle);
}

// newfd now refers to the same file as oldfd (after a successful dup of one of ours).
static void copy_slot(int oldfd, int newfd)
{
	if (newfd < 0 || newfd >= MAX_FDS)
		return;
	pthread_mutex_lock(&table_lock);
	struct pending_close p = forget_locked(newfd);
	if (oldfd >= 0 && oldfd < MAX_FDS && slots[oldfd].kind != FD_NONE) {
		struct fd_slot s = slots[oldfd];
		if (s.kind != FD_INHERITED)
			++*refs_of(s);
		slots[newfd].handle = s.handle;
		__atomic_store_n(&slots[newfd].kind, s.kind, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&table_lock);
	finish_close(p);
}

int close(int fd)
{
	resolve_libc();
	if (slot_of(fd)) {
		pthread_mutex_lock(&table_lock);
		struct pending_close p = forget_locked(fd);
		pthread_mutex_unlock(&table_lock);
		finish_close(p);
	}
	return real_close(fd);
}

int dup(int oldfd)
{
	resolve_libc();
	int newfd = real_dup(oldfd);
	if (newfd >= 0 && slot_of(oldfd))
		copy_slot(oldfd, newfd);
	return newfd;
}

static int dup_onto(int oldfd, int newfd, int rc)
{
	// dup2/dup3 closed whatever newfd was (one of ours included) and made it a copy of oldfd.
	if (rc >= 0 && oldfd != newfd && (slot_of(oldfd) || slot_of(newfd)))
		copy_slot(oldfd, newfd);
	return rc;
}

int dup2(int oldfd, int newfd)
{
	resolve_libc();
	return dup_onto(oldfd, newfd, real_dup2(oldfd, newfd));
}

int dup3(int oldfd, int newfd, int flags)
{
	resolve_libc();
	return dup_onto(oldfd, newfd, real_dup3(oldfd, newfd, flags));
}

int fcntl(int fd, int cmd, ...)
{
	resolve_libc();
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	int rc = real_fcntl(fd, cmd, arg);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && rc >= 0 && slot_of(fd))
		copy_slot(fd, rc);
	return rc;
}

int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

// Before the C library's functions are resolved (the allocator may map memory that early), the system calls.
static void *pass_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	if (real_mmap)
		return real_mmap(addr, length, prot, flags, fd, offset);
	return (void *)syscall(SYS_mmap, addr, length, prot, flags, fd, offset);
}

static int pass_munmap(void *addr, size_t length)
{
	return real_munmap ? real_munmap(addr, length) : (int)syscall(SYS_munmap, addr, length);
}

static void *map_failed(int err)
{
	errno = err;
	return MAP_FAILED;
}

// mmap of a region of a /dev/iommu file or a device (BAR0, the DMA engine): the checks of the mmap system call (page-aligned offset, a length
// rounded up to pages), then the file's (iommufd_fops_mmap), then the program's page and the emulation's view.
static void *mmap_emulated(struct fd_slot *s, void *addr, size_t length, int prot, int flags, off_t offset)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (s->kind == FD_INHERITED) {
		inherited(-1);
		return MAP_FAILED;
	}
	if (s->kind == FD_EVENT)
		return map_failed(ENODEV); // a vEVENTQ file has no mmap
	if (length == 0 || (offset & (off_t)(page - 1)) != 0)
		return map_failed(EINVAL);
	size_t len = (length + page - 1) & ~(page - 1);
	int handle = s->handle;
	long id = emu_mmap(handle, (unsigned long)offset, len, prot, flags);
	if (id < 0)
		return map_failed((int)-id);

	int keep = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_POPULATE | MAP_LOCKED | MAP_NORESERVE);
	void *mem = pass_mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | keep, -1, 0);
	void *alias = mem == MAP_FAILED ? MAP_FAILED : mremap(mem, 0, len, MREMAP_MAYMOVE);
	int err = errno;
	if (alias != MAP_FAILED && prot != (PROT_READ | PROT_WRITE) && mprotect(mem, len, prot) != 0) {
		err = errno;
		pass_munmap(alias, len);
		alias = MAP_FAILED;
	}
	int slot = -1;
	if (alias != MAP_FAILED) {
		pthread_mutex_lock(&table_lock);
		for (int i = 0; i < MAX_MAPS && slot < 0; i++)
			if (maps[i].length == 0)
				slot = i;
		if (slot >= 0) {
			maps[slot] = (struct emu_map){ (uintptr_t)mem, len, alias, id, handle };
			handle_refs[handle]++;
			__atomic_add_fetch(&map_count, 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&table_lock);
		if (slot < 0) {
			err = ENOMEM;
			pass_munmap(alias, len);
		}
	}
	if (slot < 0) {
		if (mem != MAP_FAILED)
			pass_munmap(mem, len);
		emu_munmap(id);
		return map_failed(err);
	}
	emu_mmap_place(id, (unsigned long)alias);
	return mem;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	struct fd_slot *s = (flags & MAP_ANONYMOUS) ? NULL : slot_of(fd);
	if (s)
		return mmap_emulated(s, addr, length, prot, flags, offset);
	return pass_mmap(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset) __attribute__((alias("mmap")));

int munmap(void *addr, size_t length)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)addr, end = start + length;
	if (__atomic_load_n(&map_count, __ATOMIC_ACQUIRE) > 0 && (start & (page - 1)) == 0 && length > 0) {
		struct emu_map hit[MAX_MAPS];
		int n = 0;
		pthread_mutex_lock(&table_lock);
		for (int i = 0; i < MAX_MAPS; i++) {
			if (maps[i].length && maps[i].start < end && start < maps[i].start + maps[i].length) {
				hit[n++] = maps[i];
				maps[i].length = 0;
				__atomic_sub_fetch(&map_count, 1, __ATOMIC_RELEASE);
			}
		}
		pthread_mutex_unlock(&table_lock);
		for (int i = 0; i < n; i++) {
			emu_munmap(hit[i].id); // the poller stops before the memory goes
			pass_munmap(hit[i].alias, hit[i].length);
			if (hit[i].start < start || hit[i].start + hit[i].length > end)
				pass_munmap((void *)hit[i].start, hit[i].length);
			put_iommufd(hit[i].handle);
		}
	}
	return pass_munmap(addr, length);
}
