#include "common/process/stop_signals.h"

#include <pthread.h>
#include <signal.h>

namespace tokens {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal() {
  const sigset_t set = StopSignals();
  int signo = 0;
  sigwait(&set, &signo);
  return signo;
}

}  // namespace tokens
