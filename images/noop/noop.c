/*
 * noop: a static program that exits 0 at once, with no libc, no loader and no shell.
 *
 * The gateway's image pre-pulling pods copy it from the product image into an emptyDir and run it as the command
 * of one init container per kernel image: the kubelet pulls the image to start the container, and nothing of the
 * image runs, so images without a shell (distroless) are pre-pulled too. Built in the Dockerfile's builder stage
 * and by scripts/build-images.sh, for x86_64 or aarch64:
 *
 *   clang -static -nostdlib -ffreestanding -fno-stack-protector -O2 -o noop images/noop/noop.c
 */

__attribute__((noreturn)) void _start(void) {
    for (;;) {
#if defined(__x86_64__)
        __asm__ volatile("mov $231, %%eax\n\txor %%edi, %%edi\n\tsyscall" ::: "rax", "rdi", "rcx", "r11", "memory"); /* exit_group(0) */
#elif defined(__aarch64__)
        __asm__ volatile("mov x8, #94\n\tmov x0, #0\n\tsvc #0" ::: "x0", "x8", "memory"); /* exit_group(0) */
#else
#error "noop: only x86_64 and aarch64"
#endif
    }
}
