import { Relay } from '../app.js';
import type { RelayConfig } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';

/** A signal this soon after the first is the same request delivered twice, not a second one. */
const DUPLICATE_SIGNAL_WINDOW_MS = 1000;

/** Runs the relay until SIGTERM/SIGINT; resolves with the process exit code. */
export async function runRelay(
  config: RelayConfig,
  log: Logger = createLogger(config.log.level),
): Promise<number> {
  // Signals are handled from the first moment: a SIGTERM during start-up still ends in
  // an orderly stop once the relay is up, never in a kill halfway through a write.
  let signalled: (signal: string) => void = () => undefined;
  const stopRequested = new Promise<string>((resolve) => (signalled = resolve));
  let stoppingSince: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppingSince !== null) {
      // Ctrl-C under `npm start` arrives twice: from the terminal, and forwarded by npm a
      // moment later. Only a signal sent on purpose, after that, skips the clean stop.
      if (performance.now() - stoppingSince < DUPLICATE_SIGNAL_WINDOW_MS) {
        log.info({ signal }, 'already stopping (a signal again at once: the same request)');
        return;
      }
      log.warn({ signal }, 'second signal: exiting now without a clean shutdown');
      process.exit(1);
    }
    stoppingSince = performance.now();
    log.info({ signal }, 'stopping');
    signalled(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const relay = new Relay(config, { log });
  try {
    await relay.start();
  } catch (error) {
    log.fatal({ err: errorMessage(error) }, 'kinesis-relay could not start');
    await relay.stop();
    return 1;
  }
  await stopRequested;
  const clean = await relay.stop();
  // Whatever still holds the event loop after a timed-out stop (a request that never
  // answers) must not keep the process alive past its shutdown budget.
  if (!clean) setTimeout(() => process.exit(1), 1000).unref();
  return clean ? 0 : 1;
}
