// Graceful interruption: the first SIGINT/SIGTERM only asks the training loop to stop at the next step boundary;
// a second one gets the default action (the process dies), for when the user cannot wait.

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

/** Calls `onFirst` on the first signal; returns a function that uninstalls the handlers. */
export function onInterrupt(onFirst: (signal: NodeJS.Signals) => void): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      remove();
      process.kill(process.pid, signal);
      return;
    }
    received = true;
    onFirst(signal);
  };
  const remove = () => {
    for (const s of SIGNALS) process.off(s, handler);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return remove;
}
