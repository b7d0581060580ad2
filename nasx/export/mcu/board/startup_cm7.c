/* Reset code of a bare-metal nasx test image for QEMU mps2-an500 (Cortex-M7), C99.
 *
 * Copies .data, zeroes .bss, enables the FPU, paints the stack, opens semihosting, runs
 * main(), prints the stack high-water mark and exits with main's status (semihosting).
 * nasx_board_ticks() counts SysTick ticks (24-bit down-counter on the processor clock, its
 * wraps counted by the interrupt); under `qemu -icount shift=0` a tick is a fixed number of
 * executed instructions, measured at reset on a loop of known length (`calibration`). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
extern void initialise_monitor_handles(void);
extern int main(void);

#define PAINT 0xC5A5C5A5UL
#define SYST_CSR (*(volatile uint32_t *)0xE000E010UL)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014UL)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018UL)
#define CPACR (*(volatile uint32_t *)0xE000ED88UL)

static volatile uint32_t wraps;

void _init(void) {}
void _fini(void) {}

static void systick_handler(void) { ++wraps; }

unsigned long nasx_board_ticks(void) {
  uint32_t w, v;
  do {
    w = wraps;
    v = SYST_CVR;
  } while (w != wraps);
  return (unsigned long)w * 0x1000000UL + (0xFFFFFFUL - v);
}

static void spin(uint32_t n) { /* 2 instructions per iteration: subs, bne */
  __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc");
}

static void halt(void) {
  for (;;) {
  }
}

void nasx_reset(void) {
  uint32_t *src = &_sidata, *dst;
  uintptr_t a, sp;
  unsigned long t0, t1;
  int rc;
  for (dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  CPACR |= 0xFUL << 20; /* CP10, CP11: full access */
  __asm__ volatile("dsb\n isb");
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (a = (uintptr_t)&_sstack; a < sp - 64u; a += 4u)
    *(volatile uint32_t *)a = PAINT; /* below the frame in use now */
  SYST_RVR = 0xFFFFFFUL;
  SYST_CVR = 0;
  SYST_CSR = 7; /* processor clock, interrupt, enabled */
  initialise_monitor_handles();
  t0 = nasx_board_ticks();
  spin(1000000UL);
  t1 = nasx_board_ticks();
  printf("calibration 2000000 %lu\n", t1 - t0);
  rc = main();
  for (a = (uintptr_t)&_sstack; a < (uintptr_t)&_estack && *(volatile uint32_t *)a == PAINT;
       a += 4u) {
  }
  printf("stack %lu\n", (unsigned long)((uintptr_t)&_estack - a));
  exit(rc);
}

typedef void (*nasx_vector_t)(void);
__attribute__((section(".isr_vector"), used)) const nasx_vector_t nasx_vectors[16] = {
  (nasx_vector_t)(uintptr_t)&_estack, /* initial stack pointer */
  nasx_reset, halt, halt, halt, halt, halt, 0, 0, 0, 0, halt, halt, 0, halt, systick_handler};
