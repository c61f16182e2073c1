// The machine's one pair of 8259 PICs, wired to IDT vectors 32-47.
#pragma once

#include <stdint.h>

namespace exo::pic {

void init();
void unmask(uint8_t irq);
void mask(uint8_t irq);
void eoi(uint8_t irq);
bool is_spurious(uint8_t irq);
uint16_t pending();

}  // namespace exo::pic
