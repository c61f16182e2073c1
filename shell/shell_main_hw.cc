#include "shell/shell_main_hw.h"

#include <new>

#include "kernel/arch/x86_64/cpu.h"
#include "kernel/boot/boot_sequence_hw.h"
#include "kernel/drivers/uart16550/console_hw.h"
#include "kernel/debug/klog_hw.h"
#include "kernel/drivers/uart16550/serial_input_hw.h"
#include "shell/kernel_commands.h"
#include "shell/command_table.h"
#include "shell/line_editor.h"

extern "C" const exo::Command __shell_commands_start[];
extern "C" const exo::Command __shell_commands_end[];

namespace exo {
namespace {

constexpr size_t kLineLimit = 256;

// The shell is the only user of these after boot (the log echo runs on the
// same CPU with interrupts off inside klog_line).
constinit Output g_out { console::write_to, nullptr };
constinit LineHistory g_history {};
// Built in shell_main(): its constructor arguments would put the whole
// editor, line buffer included, in .data (file bytes) instead of .bss.
// Reached through a pointer the compiler cannot see through, so the editor's
// code uses short register-relative field accesses, not RIP-relative ones.
alignas(LineEditor) constinit char g_editor_storage[sizeof(LineEditor)] {};
constinit LineEditor* g_editor = nullptr;
// Linker-section bounds are not constants: the table is built in shell_main().
constinit const CommandTable* g_table = nullptr;

// While a command prints, log lines wait: one landing in its output would
// split a JSON line (`exo query drivers` broke on a TSC warning). They are
// in the log ring already; the first held one's sequence number + 1 is
// kept (0: none held).
constinit bool g_command_running = false;
constinit uint64_t g_held_from = 0;

void print_log_line(const char* text, size_t n)
{
    constexpr size_t kMaxEcho = 199;  // longer lines are cut
    g_editor->print_above(text, n < kMaxEcho ? n : kMaxEcho);
}

// Log lines that arrive while someone types go above the edited line.
// Errors are not held: a panic (or a command that never returns) must be
// seen now, whatever it splits.
void echo_log_line(LogLevel level, const char* text, size_t n)
{
    if (!g_command_running || level == LogLevel::Error)
        print_log_line(text, n);
    else if (g_held_from == 0)
        g_held_from = klog_ring().next_seq();  // this line's record + 1
}

// After the command and its prompt, with interrupts off: the held lines,
// in order, above the prompt (any the ring has overwritten meanwhile are
// skipped; `log` counts them).
void print_held_lines()
{
    if (g_held_from != 0)
        klog_ring().read_from(g_held_from - 1, [](void*, const LogRecord& r) {
            if (klog_prints(r.level) && r.level != LogLevel::Error)  // errors went out at once
                print_log_line(r.text, r.length);
            return LogVisit::Continue;
        }, nullptr);
    g_held_from = 0;
}

void handle(LineEvent event)
{
    switch (event) {
    case LineEvent::None:
        return;
    case LineEvent::Line:
        g_command_running = true;
        (void)g_table->execute(g_out, g_editor->line(), g_editor->length());
        break;
    case LineEvent::TooLong:
        g_out.puts("error: line too long\r\n");
        break;
    case LineEvent::Cancelled:
        break;
    }
    cpu::InterruptGuard guard;  // as in feed() below
    g_command_running = false;
    // The prompt first: the command's output ends where a client expects,
    // and the held lines go above the new prompt like any log line.
    g_editor->start_prompt();
    print_held_lines();
}

}  // namespace

const CommandTable* shell_command_table() { return g_table; }

void shell_main(void*)
{
    CommandTable table { __shell_commands_start, __shell_commands_end };
    g_table = &table;
    // Through an opaque pointer: the constructor's stores are then
    // register-relative, not RIP-relative on the storage.
    g_editor = new (cpu::opaque(g_editor_storage)) LineEditor(g_out, "exo> ", g_history, kLineLimit);
    g_editor->set_completion(CommandTable::completion_callback, &table);
    klog_set_echo(echo_log_line);
    g_editor->start_prompt();
    boot_sequence::mark_prompt();
    boot_sequence::after_prompt();
    for (;;) {
        uint8_t key = serial_input::read_blocking();
        LineEvent event;
        {
            // A log line from an interrupt handler redraws the edited line
            // (echo_log_line): never in the middle of an edit.
            cpu::InterruptGuard guard;
            event = g_editor->feed(key);
        }
        handle(event);
    }
}

}  // namespace exo
