#pragma once

namespace tokens {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts
// later, so that only WaitForStopSignal() receives them. Call first thing in
// main, before anything starts a thread.
void BlockStopSignals();

// Waits for SIGTERM or SIGINT (blocked by BlockStopSignals()); returns it.
int WaitForStopSignal();

}  // namespace tokens
