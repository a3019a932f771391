/**
 * Everything the benchmark starts or creates (child servers, databases, temp dirs) registers how
 * to undo it here, so that a failure or Ctrl-C leaves nothing behind.
 */
const tasks = new Map<number, { name: string; run: () => Promise<void> | void }>();
let nextId = 0;

/** Registers an undo step; the returned function runs it now (once) and forgets it. */
export function onCleanup(name: string, run: () => Promise<void> | void): () => Promise<void> {
  const id = nextId++;
  tasks.set(id, { name, run });
  return async () => {
    if (!tasks.delete(id)) return;
    await run();
  };
}

/** Runs every registered step, newest first; a failing step is reported and the rest still run. */
export async function cleanUpAll(): Promise<void> {
  for (const [id, task] of [...tasks].reverse()) {
    tasks.delete(id);
    try {
      await task.run();
    } catch (error) {
      console.error(`cleanup: ${task.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** On Ctrl-C or SIGTERM: clean up, then exit 130. */
export function cleanUpOnSignals(): void {
  const stop = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the benchmark and cleaning up...`);
    void cleanUpAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
